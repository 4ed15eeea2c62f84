"""Benign ML-tooling values as users' runs produce them: they must come out unchanged (>= 95%).

Hub ids, configs, versions (four-part CUDA/cuDNN/TensorRT ones too), experiment-tracker URLs, file names,
route templates, and real error messages of torch, transformers, peft, bitsandbytes, accelerate and CUDA
(copied from the libraries' sources and issue trackers, numbers and file names included). Error messages
must at least keep their exception type, file names and numbers even when a word is replaced.
"""

from __future__ import annotations

from typing import Final

IDS: Final = (
    "meta-llama/Llama-2-7b-hf", "meta-llama/Meta-Llama-3.1-8B-Instruct", "mistralai/Mistral-7B-v0.3",
    "mistralai/Mixtral-8x22B-Instruct-v0.1", "Qwen/Qwen2.5-Coder-7B-Instruct", "google/gemma-2-9b-it",
    "microsoft/Phi-3.5-mini-instruct", "tiiuae/falcon-40b", "EleutherAI/gpt-neox-20b", "bigscience/bloomz-7b1",
    "TheBloke/Llama-2-13B-chat-GPTQ", "unsloth/llama-3-8b-bnb-4bit", "HuggingFaceH4/zephyr-7b-beta",
    "deepseek-ai/deepseek-coder-6.7b-instruct", "codellama/CodeLlama-7b-Python-hf", "openai-community/gpt2-xl",
    "sentence-transformers/all-MiniLM-L6-v2", "BAAI/bge-large-en-v1.5", "stabilityai/stable-diffusion-xl-base-1.0",
    "openai/whisper-large-v3", "tatsu-lab/alpaca", "databricks/databricks-dolly-15k", "timdettmers/openassistant-guanaco",
    "HuggingFaceH4/ultrachat_200k", "Open-Orca/OpenOrca", "teknium/OpenHermes-2.5", "yahma/alpaca-cleaned",
    "gsm8k", "squad_v2", "glue/mrpc", "wikitext-103-raw-v1", "allenai/c4", "bigcode/the-stack-dedup",
    "llama-2-7b", "mistral-7b-instruct-v0.2", "phi-2", "gemma-7b-it", "qwen2-1.5b", "tinyllama-1.1b-chat-v1.0",
)  # fmt: skip

CONFIGS: Final = (
    "lora", "qlora", "dora", "adalora", "ia3", "prefix_tuning", "prompt_tuning", "paged_adamw_8bit", "adamw_torch",
    "adamw_torch_fused", "adafactor", "cosine", "cosine_with_restarts", "linear", "constant_with_warmup", "bf16",
    "fp16", "nf4", "fp4", "int8", "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
    "lm_head", "embed_tokens", "CAUSAL_LM", "SEQ_2_SEQ_LM", "TOKEN_CLS", "flash_attention_2", "sdpa", "eager",
    "steps", "epoch", "no", "auto", "cuda:0", "cuda:1", "mps", "cpu", "balanced_low_0", "sequential",
    "torch.bfloat16", "torch.float16", "bnb_4bit_compute_dtype", "gradient_checkpointing", "ddp", "fsdp",
    "deepspeed_stage_3", "zero3_offload", "tensorboard", "wandb", "mlflow", "none", "right", "left",
)  # fmt: skip

VERSIONS: Final = (
    "2.1.0", "2.3.1+cu121", "2.5.0.dev20240901", "4.44.2", "0.12.0", "0.43.3", "0.33.0", "1.26.4", "3.11.7",
    "12.1", "12.4.131", "8.9.2.26", "8.6.1.6", "10.0.1.6", "535.104.05", "550.54.15", "cuDNN 8.9.2.26",
    "CUDA 12.1", "TensorRT 8.6.1.6", "v0.4.1", "sm_80", "sm_90a", "cu118", "py3.10", "manylinux_2_17_x86_64",
)  # fmt: skip

URLS: Final = (
    "https://wandb.ai/eleutherai/pythia/runs/3k2j1h4g",
    "https://wandb.ai/stanford-crfm/alpaca-lora/runs/a8x7k2mq?nw=nwuser",
    "https://wandb.ai/huggingface/peft-examples/runs/1v2b3n4m/overview",
    "https://huggingface.co/meta-llama/Llama-2-7b-hf/resolve/main/config.json",
    "https://huggingface.co/datasets/tatsu-lab/alpaca/tree/main",
    "https://github.com/huggingface/peft/issues/1234",
    "https://github.com/TimDettmers/bitsandbytes/blob/main/bitsandbytes/cextension.py",
    "https://pypi.org/project/peft/0.12.0/",
    "https://download.pytorch.org/whl/cu121",
    "http://localhost:5000/#/experiments/3/runs/9f8e7d6c5b4a",
    "http://127.0.0.1:6006/#scalars",
    "hf://datasets/tatsu-lab/alpaca",
    "/api/telemetry/events",
    "/users/me/adapters",
    "/v1/models/{model_id}/adapters/{adapter_id}",
)

FILES: Final = (
    "adapter_model.safetensors", "adapter_config.json", "pytorch_model-00001-of-00002.bin", "tokenizer.json",
    "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "training_args.bin",
    "trainer_state.json", "model.safetensors.index.json", "train.jsonl", "eval.parquet", "checkpoint-1500",
    "runs/exp-042", "outputs/lora-r16", "modeling_llama.py", "trainer.py", "cextension.py",
)  # fmt: skip

#: (message, parts that must survive even when the message is changed: exception type, files, numbers)
ERRORS: Final = (
    ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.65 GiB of which 1.44 GiB is free. Of the allocated memory 21.03 GiB is allocated by PyTorch, and 215.47 MiB is reserved by PyTorch but unallocated.", ("torch.OutOfMemoryError", "2.00", "23.65", "21.03")),
    ("RuntimeError: CUDA error: device-side assert triggered", ("RuntimeError",)),
    ("RuntimeError: CUDA error: out of memory", ("RuntimeError",)),
    ("RuntimeError: Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!", ("RuntimeError", "cuda:0")),
    ("RuntimeError: expected scalar type Half but found Float", ("RuntimeError",)),
    ("RuntimeError: mat1 and mat2 shapes cannot be multiplied (4096x4096 and 11008x4096)", ("RuntimeError", "4096x4096")),
    ("RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn", ("RuntimeError", "grad_fn")),
    ("RuntimeError: CUDA error: CUBLAS_STATUS_NOT_INITIALIZED when calling `cublasCreate(handle)`", ("RuntimeError", "CUBLAS_STATUS_NOT_INITIALIZED")),
    ("RuntimeError: NCCL error in: ../torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:1275, unhandled cuda error, NCCL version 2.14.3", ("RuntimeError", "ProcessGroupNCCL.cpp", "1275", "2.14.3")),
    ("RuntimeError: probability tensor contains either `inf`, `nan` or element < 0", ("RuntimeError",)),
    ("RuntimeError: FlashAttention only supports Ampere GPUs or newer.", ("RuntimeError",)),
    ("torch.distributed.elastic.multiprocessing.errors.ChildFailedError: train.py FAILED", ("ChildFailedError", "train.py")),
    ("ValueError: Attempting to unscale FP16 gradients.", ("ValueError",)),
    ("ValueError: Target modules {'q_proj', 'v_proj'} not found in the base model. Please check the target modules and try again.", ("ValueError", "q_proj")),
    ("ValueError: Please specify `target_modules` in `peft_config`", ("ValueError",)),
    ("ValueError: You cannot perform fine-tuning on purely quantized models. Please attach trainable adapters on top of the quantized model to correctly perform fine-tuning.", ("ValueError",)),
    ("ValueError: Asking to pad but the tokenizer does not have a padding token. Please select a token to use as `pad_token` `(tokenizer.pad_token = tokenizer.eos_token e.g.)` or add a new pad token via `tokenizer.add_special_tokens({'pad_token': '[PAD]'})`.", ("ValueError",)),
    ("ValueError: Unable to create tensor, you should probably activate truncation and/or padding with 'padding=True' 'truncation=True' to have batched tensors with the same length.", ("ValueError",)),
    ("ValueError: The model did not return a loss from the inputs, only the following keys: logits. For reference, the inputs it received are input_ids,attention_mask.", ("ValueError",)),
    ("ValueError: Some modules are dispatched on the CPU or the disk. Make sure you have enough GPU RAM to fit the quantized model.", ("ValueError",)),
    ("ValueError: Tokenizer class LlamaTokenizer does not exist or is not currently imported.", ("ValueError", "LlamaTokenizer")),
    ("KeyError: 'input_ids'", ("KeyError", "input_ids")),
    ("KeyError: 'llama'", ("KeyError",)),
    ("KeyError: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'", ("KeyError",)),
    ("AttributeError: 'NoneType' object has no attribute 'cadam32bit_grad_fp32'", ("AttributeError", "cadam32bit_grad_fp32")),
    ("AttributeError: 'LlamaForCausalLM' object has no attribute 'enable_input_require_grads'", ("AttributeError",)),
    ("AttributeError: module 'bitsandbytes.nn' has no attribute 'Linear4bit'", ("AttributeError",)),
    ("ImportError: Using `load_in_8bit=True` requires Accelerate: `pip install accelerate` and the latest version of bitsandbytes `pip install -i https://test.pypi.org/simple/ bitsandbytes` or pip install bitsandbytes`", ("ImportError",)),
    ("ImportError: cannot import name 'prepare_model_for_int8_training' from 'peft'", ("ImportError",)),
    ("ModuleNotFoundError: No module named 'flash_attn'", ("ModuleNotFoundError",)),
    ("ModuleNotFoundError: No module named 'transformers_stream_generator'", ("ModuleNotFoundError",)),
    ("OSError: We couldn't connect to 'https://huggingface.co' to load this file, couldn't find it in the cached files and it looks like meta-llama/Llama-2-7b-hf is not the path to a directory containing a file named config.json.", ("OSError", "config.json")),
    ("OSError: Can't load tokenizer for 'gpt2'. If you were trying to load it from 'https://huggingface.co/models', make sure you don't have a local directory with the same name.", ("OSError",)),
    ("OSError: Error no file named pytorch_model.bin, tf_model.h5, model.ckpt.index or flax_model.msgpack found in directory outputs.", ("OSError", "pytorch_model.bin")),
    ("OSError: [Errno 28] No space left on device", ("OSError", "28")),
    ("FileNotFoundError: [Errno 2] No such file or directory: 'adapter_config.json'", ("FileNotFoundError", "adapter_config.json")),
    ("safetensors_rust.SafetensorError: Error while deserializing header: HeaderTooLarge", ("SafetensorError",)),
    ("TypeError: LlamaForCausalLM.__init__() got an unexpected keyword argument 'load_in_4bit'", ("TypeError",)),
    ("TypeError: forward() got an unexpected keyword argument 'labels'", ("TypeError",)),
    ("TypeError: 'NoneType' object is not subscriptable", ("TypeError",)),
    ("AssertionError: Torch not compiled with CUDA enabled", ("AssertionError",)),
    ("NotImplementedError: Cannot copy out of meta tensor; no data!", ("NotImplementedError",)),
    ("IndexError: index out of range in self", ("IndexError",)),
    ("IndexError: index 32000 is out of bounds for dimension 0 with size 32000", ("IndexError", "32000")),
    ("ZeroDivisionError: division by zero", ("ZeroDivisionError",)),
    ("torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 172.00 MiB (GPU 0; 14.75 GiB total capacity; 13.10 GiB already allocated; 48.81 MiB free; 13.85 GiB reserved in total by PyTorch)", ("torch.cuda.OutOfMemoryError", "172.00", "14.75")),
    ("CUDA Setup failed despite GPU being available. Please run the following command to get more information: python -m bitsandbytes", ("CUDA",)),
    ("UserWarning: The installed version of bitsandbytes was compiled without GPU support. 8-bit optimizers, 8-bit multiplication, and GPU quantization are unavailable.", ("UserWarning",)),
    ("UserWarning: None of the inputs have requires_grad=True. Gradients will be None", ("UserWarning",)),
    ("FutureWarning: `torch.cuda.amp.GradScaler(args...)` is deprecated. Please use `torch.amp.GradScaler('cuda', args...)` instead.", ("FutureWarning",)),
    ("torch._dynamo.exc.Unsupported: call_function BuiltinVariable(setattr) [TensorVariable(), ConstantVariable(str), ConstantVariable(bool)] {}", ("torch._dynamo.exc.Unsupported",)),
    ("triton.runtime.errors.OutOfResources: out of resource: shared memory, Required: 131072, Hardware limit: 101376.", ("OutOfResources", "131072", "101376")),
    ("accelerate.utils.other: Detected kernel version 5.4.0, which is below the recommended minimum of 5.5.0", ("5.4.0", "5.5.0")),
    ("RuntimeError: Error(s) in loading state_dict for PeftModelForCausalLM: size mismatch for base_model.model.lm_head.weight: copying a param with shape torch.Size([32001, 4096]) from checkpoint, the shape in current model is torch.Size([32000, 4096]).", ("RuntimeError", "32001", "4096")),
    ("RuntimeError: The size of tensor a (4096) must match the size of tensor b (2048) at non-singleton dimension 1", ("RuntimeError", "4096", "2048")),
    ("ValueError: Expected input batch_size (8) to match target batch_size (2040).", ("ValueError", "2040")),
    ("huggingface_hub.errors.GatedRepoError: 401 Client Error. Cannot access gated repo for url https://huggingface.co/meta-llama/Llama-2-7b-hf/resolve/main/config.json.", ("GatedRepoError", "401", "config.json")),
    ("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='huggingface.co', port=443): Max retries exceeded with url: /api/models/gpt2 (Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))", ("ConnectionError", "443", "111")),
    ("wandb.errors.CommError: Run initialization has timed out after 90.0 sec.", ("CommError", "90.0")),
    ("mlflow.exceptions.MlflowException: Run '9f8e7d6c5b4a' not found", ("MlflowException",)),
    ("ValueError: bf16 mixed precision requires PyTorch >= 1.10 and a supported device.", ("ValueError", "1.10")),
    ("ValueError: Your setup doesn't support bf16/gpu. You need torch>=1.10, using Amp or APEX", ("ValueError",)),
    ("RuntimeError: cuDNN error: CUDNN_STATUS_NOT_SUPPORTED. This error may appear if you passed in a non-contiguous input.", ("RuntimeError", "CUDNN_STATUS_NOT_SUPPORTED")),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.", ("NVIDIA-SMI",)),
    ("torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/NCCLUtils.hpp:219, invalid usage, NCCL version 2.18.1", ("DistBackendError", "219", "2.18.1")),
    ("RuntimeError: DataLoader worker (pid 12345) is killed by signal: Killed.", ("RuntimeError", "12345")),
    ("RuntimeError: CUDA driver initialization failed, you might not have a CUDA gpu.", ("RuntimeError",)),
    ("ValueError: Cannot use chat template functions because tokenizer.chat_template is not set and no template argument was passed!", ("ValueError",)),
    ("ValueError: max_steps is given, it will override any value given in num_train_epochs", ("ValueError",)),
    ("RecursionError: maximum recursion depth exceeded while calling a Python object", ("RecursionError",)),
)  # fmt: skip

VALUES: Final = IDS + CONFIGS + VERSIONS + URLS + FILES + tuple(message for message, _ in ERRORS)

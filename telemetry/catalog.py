"""The typed event catalog: events declared as pydantic models, and PEFT Studio's own declarations.

An app declares what an event carries; the anonymizer then stores declared properties of the declared
type as they are (key rules and value detectors still run), gives everything else the free-text policy,
and in strict mode drops properties nobody declared. The consent page lists the catalog
(``GET /api/telemetry/catalog``), generated from the same models, so what users read is what is enforced.

Example::

    from typing import ClassVar, Literal
    from pydantic import BaseModel, Field
    from telemetry.catalog import EventCatalog, default_catalog

    class ExportClicked(BaseModel):
        '''The user exported an adapter.'''
        event_name: ClassVar[str] = "export_clicked"
        format: Literal["safetensors", "gguf"] = Field(description="File format chosen.")

    catalog = default_catalog().with_events(ExportClicked)
    catalog.declarations()  # what the anonymizer enforces

Types: ``str`` -> string, ``int`` -> integer, ``float`` -> number (ints accepted), ``bool`` -> boolean,
``Literal[...]`` or an ``Enum`` of strings -> enum. A nested model declares dotted keys (``lora.r``), the way
``track_event`` flattens nested properties. Lists and other types are not declared (their items get the
free-text policy).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from processors.anonymizer import EventDeclarations, PropertySpec

PropertyType = Literal["string", "integer", "number", "boolean", "enum"]


class CatalogError(ValueError):
    """An event model cannot be declared (no ``event_name``, or a name declared twice)."""


class CatalogProperty(BaseModel):
    """One declared property, as the catalog endpoint shows it."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: PropertyType
    description: str
    enum: list[str] | None = None


class CatalogEvent(BaseModel):
    """One declared event, as the catalog endpoint shows it."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    properties: list[CatalogProperty]


class CatalogOut(BaseModel):
    """``GET /api/telemetry/catalog``: every declared event, and whether undeclared properties are dropped."""

    strict: bool
    events: list[CatalogEvent]


def _scalar(annotation: Any) -> tuple[PropertyType, list[str] | None] | None:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        values = typing.get_args(annotation)
        return ("enum", [str(v) for v in values]) if all(isinstance(v, str) for v in values) else None
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _scalar(inner[0]) if len(inner) == 1 else None
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            members = [m.value for m in annotation]
            return ("enum", [str(v) for v in members]) if all(isinstance(v, str) for v in members) else None
        if annotation is bool:
            return "boolean", None
        if annotation is int:
            return "integer", None
        if annotation is float:
            return "number", None
        if annotation is str:
            return "string", None
    return None


def _optional_inner(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return annotation


def _properties(model: type[BaseModel], prefix: str = "") -> Iterator[CatalogProperty]:
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        annotation = _optional_inner(info.annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _properties(annotation, f"{key}.")
            continue
        scalar = _scalar(annotation)
        if scalar is not None:
            yield CatalogProperty(name=key, type=scalar[0], description=info.description or "", enum=scalar[1])


def describe_event(model: type[BaseModel]) -> CatalogEvent:
    """The catalog entry of one event model (its ``event_name``, docstring and declared properties)."""
    name = getattr(model, "event_name", None)
    if not isinstance(name, str) or not name:
        raise CatalogError(f"{model.__name__} needs a class variable event_name: ClassVar[str]")
    doc = (model.__doc__ or "").strip().splitlines()
    return CatalogEvent(name=name, description=doc[0] if doc else "", properties=list(_properties(model)))


class EventCatalog:
    """Declared events, and the strict flag. Immutable: ``with_events`` returns a new catalog."""

    def __init__(self, events: Iterable[type[BaseModel]] = (), *, strict: bool = False) -> None:
        described = [describe_event(m) for m in events]
        names = [e.name for e in described]
        if len(set(names)) != len(names):
            raise CatalogError(f"an event is declared twice: {sorted(n for n in names if names.count(n) > 1)}")
        self._models = tuple(events)
        self._events = tuple(described)
        self.strict = bool(strict)

    def with_events(self, *models: type[BaseModel], strict: bool | None = None) -> EventCatalog:
        """This catalog plus ``models`` (and optionally another strict flag)."""
        return EventCatalog((*self._models, *models), strict=self.strict if strict is None else strict)

    @property
    def events(self) -> tuple[CatalogEvent, ...]:
        return self._events

    def describe(self) -> CatalogOut:
        """What ``GET /api/telemetry/catalog`` returns."""
        return CatalogOut(strict=self.strict, events=list(self._events))

    def declarations(self) -> EventDeclarations:
        """What the anonymizer enforces (see ``processors.anonymizer.declared``)."""
        return EventDeclarations(
            {
                e.name: {
                    p.name: PropertySpec(p.type, tuple(p.enum) if p.enum is not None else None) for p in e.properties
                }
                for e in self._events
            },
            strict=self.strict,
        )


# --- PEFT Studio's own events (the spec's examples and the demo's) ----------------------------------------

Algorithm = Literal["lora", "qlora", "dora", "adalora", "ia3", "prefix_tuning", "prompt_tuning", "full"]


class AppStarted(BaseModel):
    """PEFT Studio started."""

    event_name: ClassVar[str] = "app_started"
    app_version: str | None = Field(None, description="PEFT Studio version.")
    os: str | None = Field(None, description="Operating system family.")
    gpu: str | None = Field(None, description="GPU model.")
    gpu_memory_gb: float | None = Field(None, description="GPU memory in GiB.")
    theme: Literal["dark", "light", "system"] | None = Field(None, description="Colour theme.")


class AppClosed(BaseModel):
    """PEFT Studio closed."""

    event_name: ClassVar[str] = "app_closed"
    clean_exit: bool | None = Field(None, description="Whether the app closed normally.")


class SettingsChanged(BaseModel):
    """A setting was changed (which one, never its value)."""

    event_name: ClassVar[str] = "settings_changed"
    setting: str | None = Field(None, description="Name of the setting.")
    remember: bool | None = Field(None, description="Whether it is remembered across sessions.")


class ModelLoaded(BaseModel):
    """A base model was loaded."""

    event_name: ClassVar[str] = "model_loaded"
    model_name: str | None = Field(None, description="Hub id or name of the model.")
    model_size: str | None = Field(None, description="Parameter count, such as 7B.")
    quantization: str | None = Field(None, description="Quantization used to load it, such as 4bit-nf4.")
    source: Literal["huggingface", "local", "cache"] | None = Field(None, description="Where it came from.")
    load_time_ms: float | None = Field(None, description="Load time in milliseconds.")


class DatasetLoaded(BaseModel):
    """A training dataset was loaded (its name and size, never its content)."""

    event_name: ClassVar[str] = "dataset_loaded"
    dataset_name: str | None = Field(None, description="Hub id or name of the dataset.")
    num_examples: int | None = Field(None, description="Number of examples.")
    format: Literal["jsonl", "json", "csv", "parquet", "arrow", "text"] | None = Field(None, description="Format.")


class LoraSettings(BaseModel):
    """LoRA hyperparameters (declared as ``lora.r``, ``lora.alpha``, ``lora.dropout``)."""

    r: int | None = Field(None, description="LoRA rank.")
    alpha: float | None = Field(None, description="LoRA alpha.")
    dropout: float | None = Field(None, description="LoRA dropout.")


class TrainingStarted(BaseModel):
    """A fine-tuning run started, with its configuration."""

    event_name: ClassVar[str] = "training_started"
    algorithm: Algorithm | None = Field(None, description="Fine-tuning method.")
    model_name: str | None = Field(None, description="Hub id or name of the base model.")
    model_size: str | None = Field(None, description="Parameter count, such as 7B.")
    lora: LoraSettings | None = Field(None, description="LoRA hyperparameters.")
    learning_rate: float | None = Field(None, description="Learning rate.")
    batch_size: int | None = Field(None, description="Batch size per device.")
    gradient_accumulation_steps: int | None = Field(None, description="Gradient accumulation steps.")
    epochs: int | None = Field(None, description="Number of epochs.")
    max_seq_length: int | None = Field(None, description="Maximum sequence length.")
    optimizer: str | None = Field(None, description="Optimizer, such as paged_adamw_8bit.")
    precision: Literal["bf16", "fp16", "fp32", "tf32", "int8", "int4"] | None = Field(None, description="Precision.")


class EpochCompleted(BaseModel):
    """An epoch of a run finished."""

    event_name: ClassVar[str] = "epoch_completed"
    epoch: int | None = Field(None, description="Epoch number.")
    train_loss: float | None = Field(None, description="Training loss at the end of the epoch.")


class TrainingFinished(BaseModel):
    """A fine-tuning run finished."""

    event_name: ClassVar[str] = "training_finished"
    algorithm: Algorithm | None = Field(None, description="Fine-tuning method.")
    model_name: str | None = Field(None, description="Hub id or name of the base model.")
    duration_s: float | None = Field(None, description="Run time in seconds.")
    final_loss: float | None = Field(None, description="Final training loss.")
    eval_loss: float | None = Field(None, description="Final evaluation loss.")
    tokens_per_second: float | None = Field(None, description="Training throughput.")
    peak_gpu_memory_gb: float | None = Field(None, description="Peak GPU memory in GiB.")


class AdapterExported(BaseModel):
    """A trained adapter was exported."""

    event_name: ClassVar[str] = "adapter_exported"
    format: Literal["safetensors", "bin", "gguf", "onnx"] | None = Field(None, description="File format.")
    size_mb: float | None = Field(None, description="Adapter size in MB.")


PEFT_STUDIO_EVENTS: tuple[type[BaseModel], ...] = (
    AppStarted,
    AppClosed,
    SettingsChanged,
    ModelLoaded,
    DatasetLoaded,
    TrainingStarted,
    EpochCompleted,
    TrainingFinished,
    AdapterExported,
)


def default_catalog(*, strict: bool = False) -> EventCatalog:
    """PEFT Studio's declared events."""
    return EventCatalog(PEFT_STUDIO_EVENTS, strict=strict)

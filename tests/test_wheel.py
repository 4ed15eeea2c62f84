"""The built wheel carries every package and file: install it into a fresh venv and import everything."""

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(600)
def test_built_wheel_installs_and_imports_every_package(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    [wheel] = dist.glob("*.whl")
    env_dir = tmp_path / "venv"
    # Reuse the test environment's packages so no download is needed; the wheel itself is what is tested.
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "deps.pth").write_text(site + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True)
    # The source checkout must not shadow the installed wheel; the test venv's site-packages (which lives
    # under the checkout, in .venv) stays on the path for the dependencies.
    probe = (
        "import importlib, pkgutil, sys\n"
        f"sys.path = [p for p in sys.path if p not in ('', {str(ROOT)!r})]\n"
        "for top in ('telemetry', 'processors', 'exporters', 'analytics'):\n"
        "    pkg = importlib.import_module(top)\n"
        f"    assert pkg.__file__.startswith({purelib!r}), pkg.__file__\n"
        "    for mod in pkgutil.walk_packages(pkg.__path__, top + '.'):\n"
        "        importlib.import_module(mod.name)\n"
        "print('ok')\n"
    )
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

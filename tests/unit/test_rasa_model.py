import shutil
from pathlib import Path

from bot.infra.rasa_model import (
    SERVE_TIME_ONLY,
    TRAINING_INPUTS,
    is_model_current,
    model_path,
    training_fingerprint,
)
from bot.infra.settings import PROJECT_ROOT


def _copy_inputs(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name in TRAINING_INPUTS:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    return root


def test_fingerprint_changes_with_training_data_only(tmp_path: Path) -> None:
    root = _copy_inputs(tmp_path)
    before = training_fingerprint(root)
    (root / "README.md").write_text("not a training input")
    assert training_fingerprint(root) == before
    with (root / "nlu" / "nlu.yml").open("a") as f:
        f.write("      - halo lagi\n")
    assert training_fingerprint(root) != before


def test_serve_time_modules_do_not_make_the_model_stale(tmp_path: Path) -> None:
    root = _copy_inputs(tmp_path)
    before = training_fingerprint(root)
    for name in SERVE_TIME_ONLY:
        with (root / name).open("a") as f:
            f.write("\n# edited\n")
    assert training_fingerprint(root) == before
    with (root / "nlu" / "components.py").open("a") as f:
        f.write("\n# a training component edited\n")
    assert training_fingerprint(root) != before


def test_model_is_current_only_with_matching_stamp(tmp_path: Path) -> None:
    root = _copy_inputs(tmp_path)
    models = tmp_path / "models"
    models.mkdir()
    assert not is_model_current(models, root)
    model_path(models).write_bytes(b"model")
    (models / ".fingerprint").write_text(training_fingerprint(root) + "\n")
    assert is_model_current(models, root)
    (root / "domain.yml").write_text((root / "domain.yml").read_text() + "\n# changed\n")
    assert not is_model_current(models, root)

"""xraylib.config: pins, profiles, and where the data folders are looked for."""
from __future__ import annotations

import dataclasses
import tomllib

import pytest
import yaml

from xraylib import config

ROOT = config.project_root()


def _pyproject_pins() -> list[str]:
    """The package's, the book's, the tests' and JupyterLab's pins (the optional JAX backend is not
    in conda's list)."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    extras = project["optional-dependencies"]
    return project["dependencies"] + extras["book"] + extras["test"] + extras["lab"]


def _environment_pins() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml should have exactly one pip: section"
    return pip[0]


def test_pyproject_dependencies_equal_environment_yml_pip_list():
    pyproject, environment = _pyproject_pins(), _environment_pins()
    assert sorted(pyproject) == sorted(environment)
    assert len(set(pyproject)) == len(pyproject), "a dependency is listed twice"


def test_pyproject_dependencies_are_exact_pins():
    loose = [d for d in _pyproject_pins() if "==" not in d]
    assert not loose, f"unpinned dependencies: {loose}"


def test_paper_profile_has_the_papers_settings():
    p = config.get_profile("paper")
    assert (p.image_size, p.epochs, p.batch_size) == (200, 25, 5)
    assert p.learning_rate == 1e-4
    assert (p.lr_factor, p.lr_patience) == (0.5, 2)
    assert p.folds == 5
    assert dict(p.composition) == {"covid": 289, "viral_pneumonia": 550, "normal": 550}


def test_get_profile_defaults_to_paper_when_no_name_and_no_env(monkeypatch):
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    assert config.get_profile() is config.PROFILES["paper"]


def test_get_profile_unknown_name_raises_value_error_naming_the_choices(monkeypatch):
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    with pytest.raises(ValueError) as info:
        config.get_profile("nonesuch")
    message = str(info.value)
    assert "nonesuch" in message
    for name in config.PROFILES:
        assert name in message


def test_get_profile_honours_xraylib_profile_env(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "quick")
    assert config.get_profile() is config.PROFILES["quick"]


def test_get_profile_explicit_name_beats_env(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "quick")
    assert config.get_profile("paper") is config.PROFILES["paper"]


def test_get_profile_unknown_env_value_raises_value_error(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "nonesuch")
    with pytest.raises(ValueError, match="nonesuch"):
        config.get_profile()


def test_data_dir_honours_xraylib_data_env(tmp_path, monkeypatch):
    folder = tmp_path / "mydata"
    folder.mkdir()
    monkeypatch.setenv(config.DATA_ENV, str(folder))
    assert config.data_dir() == folder.resolve()


def test_data_dir_env_pointing_nowhere_raises_naming_the_path(tmp_path, monkeypatch):
    missing = tmp_path / "not-there"
    monkeypatch.setenv(config.DATA_ENV, str(missing))
    with pytest.raises(FileNotFoundError) as info:
        config.data_dir()
    assert str(missing) in str(info.value)
    assert config.DATA_ENV in str(info.value)


def test_data_dir_without_env_raises_naming_every_default_it_tried(tmp_path, monkeypatch):
    monkeypatch.delenv(config.DATA_ENV, raising=False)
    monkeypatch.setattr(config, "project_root", lambda: tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        config.data_dir()
    for candidate in config.DEFAULT_DATA_CANDIDATES:
        assert str(tmp_path / candidate) in str(info.value)


def test_data_dir_finds_the_default_folder_inside_the_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv(config.DATA_ENV, raising=False)
    monkeypatch.setattr(config, "project_root", lambda: tmp_path)
    (tmp_path / config.DEFAULT_DATA_CANDIDATES[0]).mkdir(parents=True)
    assert config.data_dir() == (tmp_path / config.DEFAULT_DATA_CANDIDATES[0]).resolve()


def test_data_dir_explicit_path_wins_over_env(tmp_path, monkeypatch):
    from_env, explicit = tmp_path / "env", tmp_path / "explicit"
    from_env.mkdir()
    explicit.mkdir()
    monkeypatch.setenv(config.DATA_ENV, str(from_env))
    assert config.data_dir(explicit) == explicit.resolve()


def test_data_dir_missing_explicit_path_raises_even_when_env_exists(tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        config.data_dir(tmp_path / "nowhere")


def test_external_dir_honours_xraylib_external_env(tmp_path, monkeypatch):
    monkeypatch.setenv(config.EXTERNAL_ENV, str(tmp_path))
    assert config.external_dir() == tmp_path.resolve()


def test_cache_dir_honours_xraylib_cache_env_and_creates_it(tmp_path, monkeypatch):
    folder = tmp_path / "a" / "cache"
    monkeypatch.setenv(config.CACHE_ENV, str(folder))
    assert config.cache_dir() == folder
    assert folder.is_dir()


def test_cache_dir_naming_a_file_raises_not_a_directory_naming_it(tmp_path, monkeypatch):
    file = tmp_path / "cache"
    file.write_text("")
    monkeypatch.setenv(config.CACHE_ENV, str(file))
    with pytest.raises(NotADirectoryError, match=f"cache folder {file} is not a folder"):
        config.cache_dir()


# The test suite's data gate (tests/conftest.py): skip without the data, fail where it is expected

@pytest.mark.parametrize("env", [{}, {"CI": "false"}, {"XRAYLIB_REQUIRE_DATA": "0"}])
def test_a_data_test_without_the_data_is_skipped_outside_ci(monkeypatch, env):
    from conftest import NEEDS_DATA, missing_data
    for name in ("CI", "XRAYLIB_REQUIRE_DATA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(pytest.skip.Exception, match=NEEDS_DATA):
        missing_data("the main data set", FileNotFoundError("no folder"))


@pytest.mark.parametrize("env", [{"CI": "true"}, {"XRAYLIB_REQUIRE_DATA": "1"}])
def test_a_data_test_without_the_data_fails_where_the_data_are_expected(monkeypatch, env):
    from conftest import missing_data
    for name in ("CI", "XRAYLIB_REQUIRE_DATA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(pytest.fail.Exception, match="expected here.*no folder"):
        missing_data("the main data set", FileNotFoundError("no folder"))


def test_assumptions_table_reads_each_column_from_its_profile():
    values, table = config.assumptions_table()
    paper, authors = config.get_profile("paper"), config.get_profile("authors")
    rows = table.set_index("setting")
    assert values == {"conv_dropout_ours": f"{paper.conv_dropout:g}",
                      "conv_dropout_authors": f"{authors.conv_dropout:g}"}
    assert rows.loc["dropout after each convolution block", "the authors' code"] == "0.25"
    rotation = f"up to {authors.augmentation.rotation_deg:g} degrees"
    assert rows.loc["augmentation: rotation", "the authors' code"] == rotation
    assert rows.loc["batch normalisation momentum", "assumed for the paper's text"] == f"{paper.bn_momentum:g}"
    assert len(table) == len(config.ASSUMPTIONS) and table["why the assumption"].str.len().min() > 0


def test_assumptions_table_says_which_weights_a_profile_keeps(monkeypatch):
    best = dataclasses.replace(config.get_profile("paper"), restore_best=True)
    monkeypatch.setitem(config.PROFILES, "paper", best)
    _, table = config.assumptions_table()
    kept = table.set_index("setting").loc["weights kept", "assumed for the paper's text"]
    assert kept == "of the best validation epoch"

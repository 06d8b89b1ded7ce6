"""The package's public surface: every exported name resolves, and ``import lowfloat`` stays light."""

import subprocess
import sys

import lowfloat as lf


def test_every_name_in_all_resolves_and_is_listed_by_dir():
    for name in lf.__all__:
        assert getattr(lf, name) is not None, name
    assert set(lf.__all__) <= set(dir(lf))


def test_lazily_exported_names_are_the_functions_themselves_not_modules():
    assert callable(lf.matmul) and lf.matmul.__module__ == "lowfloat.accumulate"
    assert callable(lf.table) and callable(lf.explain) and callable(lf.mx_quantize)


def test_unknown_attribute_raises_attribute_error_naming_it():
    try:
        lf.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_import_lowfloat_loads_only_the_codec_not_arithmetic_scaling_plots_or_training():
    code = (
        "import sys, lowfloat\n"
        "heavy = ['lowfloat.arith', 'lowfloat.accumulate', 'lowfloat.scaling',\n"
        "         'lowfloat.train', 'matplotlib', 'torch', 'dask']\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"

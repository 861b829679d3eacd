from setuptools import setup
# cffi_modules cannot be declared in pyproject.toml yet (python-cffi/cffi#55).
setup(cffi_modules=["native/build_ffi.py:ffibuilder"])

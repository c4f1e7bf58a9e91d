"""Build configuration beyond pyproject.toml: the optional C word scanner.

optional=True: without a C compiler the install still succeeds and FrameWatch uses the
pure-Python scanner, which gives the same results more slowly (bot/rules/scanner.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "bot.rules._scan",
            sources=["bot/rules/_scan.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)

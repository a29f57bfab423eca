"""sm-workbench: run SageMaker-style training containers locally, exactly as SageMaker would."""

__version__ = "0.1.0"

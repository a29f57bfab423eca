"""Metrics: AlgorithmSpecification.MetricDefinitions read from every host's output, as SageMaker reads them.

    extract    lines to (time, metric, value): the regexes (compiled in `spec.metrics`), a literal prefilter
    record     how samples fold into describe.json (FinalMetricDataList)
    extension  the hooks the runner calls: each batch of lines read, a notice for what never matched
    series     a job's samples per metric and host: exact last/min/max/count, bounded points for charts
    reading    a job's samples as recorded, or read again from its stored log with other definitions
    compare    several jobs side by side: hyperparameters, final metrics
"""

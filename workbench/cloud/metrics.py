"""A SageMaker training job's metric series from CloudWatch, as SageMaker publishes them.

SageMaker puts each MetricDefinition's values in the namespace `/aws/sagemaker/TrainingJobs`
under the definition's Name, with the one dimension `TrainingJobName` (no host). They are
read as the SageMaker Python SDK reads them (TrainingJobAnalytics): averages per minute.
"""

from __future__ import annotations

from datetime import datetime, timezone

from workbench.cloud.client import cloudwatch_client
from workbench.cloud.errors import aws_error_types, cloud_error

NAMESPACE = "/aws/sagemaker/TrainingJobs"
PERIOD = 60  # seconds per point: the SDK's TrainingJobAnalytics period
MARGIN = 120.0  # seconds around the job's times, for points on the edges
MAX_QUERIES = 500  # GetMetricData's limit per request (MetricDefinitions has at most 40)


def metric_series(job: str, names: list[str], start: float, end: float,
                  region: str | None = None) -> dict[str, list[tuple[float, float]]]:
    """{metric: [(epoch seconds, value), ...] in time order} for the job's metrics between
    `start` and `end` (epoch seconds); a metric CloudWatch has nothing for is left out."""
    if not names:
        return {}
    client = cloudwatch_client(region)
    queries = [{"Id": f"m{index}", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": NAMESPACE, "MetricName": name,
                   "Dimensions": [{"Name": "TrainingJobName", "Value": job}]},
        "Period": PERIOD, "Stat": "Average"}} for index, name in enumerate(names[:MAX_QUERIES])]
    found: dict[str, list[tuple[float, float]]] = {}
    params = {"MetricDataQueries": queries, "ScanBy": "TimestampAscending",
              "StartTime": datetime.fromtimestamp(start - MARGIN, timezone.utc),
              "EndTime": datetime.fromtimestamp(end + MARGIN, timezone.utc)}
    try:
        while True:
            response = client.get_metric_data(**params)
            for result in response.get("MetricDataResults") or []:
                name = names[int(result["Id"][1:])]
                points = found.setdefault(name, [])
                points.extend((moment.timestamp(), float(value))
                              for moment, value in zip(result.get("Timestamps") or [], result.get("Values") or []))
            token = response.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
    except aws_error_types() as err:
        raise cloud_error(err, f"read the metrics of {job} from CloudWatch", "GetMetricData") from None
    return {name: sorted(points) for name, points in found.items() if points}

"""Chart specifications for web/charts.js: plain dicts a template passes to json_script."""


def chart(
    chart_id: str,
    title: str,
    labels: list[str],
    series: dict[str, list[float]],
    *,
    kind: str = "line",
    y_title: str = "",
    x_title: str = "",
    stacked: bool = False,
) -> dict:
    """A chart of one or more series over the same labels; empty series are left out.

    Values are floats rounded for drawing (the exact figures are in the page's tables);
    None is a gap, drawn as one.
    """
    datasets = [
        {"label": name, "data": [None if v is None else round(float(v), 4) for v in values]}
        for name, values in series.items()
        if any(v for v in values if v is not None)
    ]
    return {
        "id": chart_id,
        "data_id": f"{chart_id}-data",
        "title": title,
        "type": kind,
        "labels": labels,
        "datasets": datasets,
        "x_title": x_title,
        "y_title": y_title,
        "stacked": stacked,
    }

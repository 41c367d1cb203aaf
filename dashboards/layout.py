"""A dashboard from its variables and its rows of panels, numbered and placed on the grid."""

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

TAGS = ["kube-monitoring"]


def dashboard(uid: str, title: str, description: str, variables: list, rows: dict[str, list]):
    """Build the dashboard; `rows` maps each row's title to its panels, in order.

    Panel ids are set here, in order, because Grafana keys panel links and state on them and
    the SDK leaves them unset.
    """
    board = (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .timezone("utc")
        .time("now-6h", "now")
        .refresh("1m")
        .variables(variables)
    )
    for row_title, panels in rows.items():
        board.with_row(Row(row_title))
        for panel in panels:
            board.with_panel(panel)
    model = board.build()
    for number, panel in enumerate(model.panels, start=1):
        panel.id_val = number
    return model

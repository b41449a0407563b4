"""The look of an architecture diagram: colours of kinds and zones, font sizes, geometry in inches."""

from __future__ import annotations

from ..style import OKABE_ITO

KIND_COLORS: dict[str, str] = {
    "workload": OKABE_ITO["orange"],
    "service": OKABE_ITO["sky_blue"],
    "database": OKABE_ITO["bluish_green"],
}
"""Fill colour (before lightening) of each node kind; other kinds take :data:`EXTRA_KIND_COLORS` in turn."""

EXTRA_KIND_COLORS = [OKABE_ITO[k] for k in ("reddish_purple", "yellow", "blue", "vermillion")]
ZONE_COLORS = [OKABE_ITO[k] for k in ("blue", "vermillion", "reddish_purple", "bluish_green", "orange",
                                      "sky_blue", "yellow")]

EDGE_COLOR = "#3a3a3a"
FEEDBACK_COLOR = OKABE_ITO["vermillion"]  # back edges of cycles
NO_DATA_FILL, NO_DATA_EDGE = "#ebebeb", "#999999"  # a component missing from ``utilization``
TEXT_DARK = "#111111"
NAME_SIZE = 9.5  # points
DETAIL_SIZE = 7.8
LEGEND_SIZE = 8.5
LINE_GAP = 1.35  # line height / font size

# geometry, inches
PAD_X = 0.16  # text to box side
PAD_Y = 0.10
MIN_BOX_W = 1.15
H_GAP = 0.32  # between boxes of a row
DUMMY_W = 0.12  # an edge passing through a row
V_GAP = 0.72  # between rows
ZONE_PAD_X = 0.20
ZONE_PAD_BOTTOM = 0.14
ZONE_PAD_TOP = 0.30  # room for the zone name
MARGIN = 0.25
SELF_LOOP_W = 0.45
TITLE_H = 0.55
LEGEND_ROW_H = 0.30
COLORBAR_W = 1.15

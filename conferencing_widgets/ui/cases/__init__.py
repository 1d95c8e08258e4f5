"""ui.cases feature: case status control, tile chips, whose-turn badges, clocks in Details."""

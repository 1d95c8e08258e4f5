"""Case workflow feature: status, whose turn, response clocks."""

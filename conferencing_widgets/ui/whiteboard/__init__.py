"""The whiteboard views: ``view`` (the board), ``pointer`` and ``sync`` (its input and its following of the
store), ``drawing`` (canvas), ``toolbar``, ``png`` (downloads), ``html`` (templates) and ``feature``
(``install`` into the app, ``whiteboard_page``)."""

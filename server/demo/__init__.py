"""Development and demonstration tools, imported only by ``smilepost demo``: the demo runner (server, SQLite file,
a demo location and kiosk, the kiosk window: :mod:`server.demo.runner`) and the realistic demo dataset
(:mod:`server.demo.seed`). Nothing the server needs at run time imports this package."""

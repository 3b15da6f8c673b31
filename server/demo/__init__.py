"""Development and demonstration tools, imported only by ``smilepost demo``: the demo runner (server, SQLite file,
a year of demo data, a live kiosk window at a seeded location: :mod:`server.demo.runner`) and the realistic demo dataset
(:mod:`server.demo.seed`). Nothing the server needs at run time imports this package."""

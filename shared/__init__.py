"""What the kiosk and the server share: the wire protocol (:mod:`shared.protocol`), score maths
(:mod:`shared.scores`), texts and their fallbacks (:mod:`shared.texts`) and kiosk PIN hashes (:mod:`shared.pins`).

Pure: no I/O, and imports neither :mod:`kiosk` nor :mod:`server`. ``__version__`` is Smilepost's one version number
(the package's version is read from it).
"""

__version__ = "0.1.0"

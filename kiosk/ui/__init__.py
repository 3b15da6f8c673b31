"""The kiosk's Kivy user interface: the App (:mod:`kiosk.ui.app`), its widgets and screens, one ``.kv`` file per
screen in ``kiosk/ui/kv/``, the face drawing (:mod:`kiosk.ui.faces`), the pre-Kivy environment check
(:mod:`kiosk.ui.display`), and the offscreen screenshots (:mod:`kiosk.ui.screenshots`, :mod:`kiosk.ui.clockscript`).

Importing this package imports no Kivy; :mod:`kiosk.ui.app`, :mod:`kiosk.ui.widgets`, :mod:`kiosk.ui.screens` and
:mod:`kiosk.ui.staff` do, each after :mod:`kiosk.ui.kivy_env` has prepared the environment Kivy reads on import.
Decisions live in :mod:`kiosk.flow`, texts in :mod:`kiosk.texts`; these modules only show them.
"""

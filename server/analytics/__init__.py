"""Satisfaction figures: the API's summaries (:mod:`server.analytics.summaries`), the dashboard's view models
(:mod:`server.analytics.dashboard`) and exports (:mod:`server.analytics.export`). Numbers come from
:mod:`shared.scores`; nothing here renders HTML."""

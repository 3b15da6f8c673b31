"""Who may do what — the one home of authentication and its limits.

- :mod:`server.auth.tokens`: random secrets and their SHA-256 hashes (kiosk tokens, API keys, sessions);
- :mod:`server.auth.kiosk_tokens`: enrolling, revoking and recognising kiosks by token;
- :mod:`server.auth.keys`: read and admin API keys;
- :mod:`server.auth.accounts`: dashboard users (argon2id), groups and grants, sessions, the per-account sign-in
  throttle and the bound on concurrent password checks;
- :mod:`server.auth.user_admin`: listing, disabling, enabling, deleting users and setting or changing passwords;
- :mod:`server.auth.pairing`: one-time pairing codes and the limits on guessing them;
- :mod:`server.auth.ratelimit`: the in-process token buckets (per kiosk, per sign-in address).

FastAPI dependencies that apply these to requests are in :mod:`server.api.deps`.
"""

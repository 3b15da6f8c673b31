"""HTTP routes, one router per resource; each route calls one library function."""

/* Smilepost: the service worker of the customer pages (served at /s/sw.js, scope /s/).

   It keeps this version's page files (precached at install) and a copy of each touchpoint page a customer opened
   (the page asks for it with a message once the worker is active; every visit through the worker while online
   refreshes it).
   Pages: network first, the copy when the network fails or takes over 4 s; a 404 (a revoked touchpoint) drops
   the copy. Page files: the cache first. Answers (POST) are never touched: the page sends them itself. Nothing
   else is fetched or kept; every cache here belongs to this origin and stays on the device. */
"use strict";

const VERSION = "__VERSION__";
const ASSETS = ["__ASSETS__"];
const FILES = `smilepost-files-${VERSION}`;
const PAGES = "smilepost-pages";
const NETWORK_PATIENCE_MS = 4000;
const PAGE = /^\/s\/[A-Za-z0-9_-]{1,64}$/; // a touchpoint's page (not its QR code, nor this script)

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(FILES)
      .then((cache) => cache.addAll(ASSETS))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("smilepost-files-") && name !== FILES) await caches.delete(name);
      }
      // Copies kept by an older version name older files: fetch them anew while online.
      const pages = await caches.open(PAGES);
      for (const request of await pages.keys()) await keepPage(new URL(request.url).pathname);
      await self.clients.claim();
    })(),
  );
});

/** Fetch a page and keep (or, answered 404, drop) its copy; whether a copy is kept now. */
async function keepPage(path) {
  const pages = await caches.open(PAGES);
  try {
    const response = await fetch(path, { cache: "no-store", credentials: "omit" });
    if (response.ok) await pages.put(path, response);
    else if (response.status === 404) await pages.delete(path);
  } catch {
    /* offline: keep what there is */
  }
  return Boolean(await pages.match(path));
}

self.addEventListener("message", (event) => {
  const path = event.data && event.data.cache;
  if (typeof path !== "string" || !PAGE.test(path)) return;
  const kept = (async () => (!event.data.fetch && (await caches.match(path))) || keepPage(path))();
  event.waitUntil(kept.then((copy) => event.ports[0] && event.ports[0].postMessage(Boolean(copy))));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && PAGE.test(url.pathname)) event.respondWith(page(event, url.pathname));
  else if (url.pathname.startsWith("/static/touch/")) event.respondWith(file(request));
});

async function page(event, path) {
  const pages = await caches.open(PAGES);
  const network = fetch(event.request).then(async (response) => {
    if (response.ok) await pages.put(path, response.clone());
    else if (response.status === 404) await pages.delete(path);
    return response;
  });
  event.waitUntil(network.catch(() => null));
  const slow = new Promise((resolve) => setTimeout(resolve, NETWORK_PATIENCE_MS));
  const first = await Promise.race([network.catch(() => null), slow.then(() => undefined)]);
  if (first) return first;
  const copy = await pages.match(path);
  return copy || network;
}

async function file(request) {
  return (await caches.match(request)) || (await caches.match(request, { ignoreSearch: true })) || fetch(request);
}

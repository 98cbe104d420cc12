/*
 * Aleph Arena: the live connection and the helpers both dashboard pages share.
 *
 * LiveSocket keeps one websocket to the server open. After a drop it reconnects with
 * exponential backoff (0.5 s doubling up to 15 s, with jitter); it pings every 20 s and
 * treats a ping left unanswered for 10 s as a drop; it waits for the browser to be online
 * again before reconnecting; and it reports its state on the page's connection indicator,
 * in text: "Live", "Reconnecting…" or "Offline…".
 *
 * It also keeps the header's count of open requests live, over the dashboard feed
 * (/ws/dashboard/), which every signed-in page opens once and pages may listen to.
 *
 * Nothing here inserts data as HTML: text goes in with textContent, and server-rendered
 * fragments (escaped by Django's templates) are parsed with DOMParser, which runs no script.
 */
(function () {
  "use strict";

  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const PING_EVERY_MS = 20000;
  const PONG_WITHIN_MS = 10000;
  // Close codes with which the server refuses a feed: reconnecting would not help.
  const REFUSALS = {
    4400: "Offline: the server refused the feed's request. Reload the page.",
    4401: "Offline: signed out. Reload to sign in again.",
    4403: "Offline: this feed is not open to you.",
    4404: "Offline: this arena is not available.",
  };
  const STATE_TEXT = {
    connecting: "Connecting…",
    connected: "Live",
    reconnecting: "Reconnecting…",
    offline: "Offline: waiting for the network…",
  };

  function wsUrl(path) {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + path;
  }

  class LiveSocket {
    /**
     * @param {object} options
     * @param {() => string} options.path  the feed's path, asked again on every connect
     * @param {(message: object) => void} options.onMessage  every message but pong
     * @param {() => void} [options.onOpen]  after each successful (re)connect
     * @param {HTMLElement} [options.indicator]  the connection indicator element
     */
    constructor(options) {
      this.path = options.path;
      this.onMessage = options.onMessage;
      this.onOpen = options.onOpen || function () {};
      this.indicator = options.indicator || null;
      this.ws = null;
      this.attempt = 0;
      this.retryTimer = null;
      this.pingTimer = null;
      this.pongTimer = null;
      this.refused = false;
      window.addEventListener("offline", () => this._goOffline());
      window.addEventListener("online", () => this._reconnectNow());
    }

    start() {
      this._setState("connecting");
      this._connect();
      return this;
    }

    /** Drop the connection as a network failure would; it reconnects by itself. */
    drop() {
      if (this.ws) {
        this._abandon();
        this._scheduleReconnect();
      }
    }

    get state() {
      return this.indicator ? this.indicator.dataset.state : null;
    }

    _connect() {
      clearTimeout(this.retryTimer);
      if (navigator.onLine === false) {
        this._setState("offline");
        return;
      }
      const ws = new WebSocket(wsUrl(this.path()));
      this.ws = ws;
      ws.onopen = () => {
        this.attempt = 0;
        this._setState("connected");
        this._startPing();
        this.onOpen();
      };
      ws.onmessage = (event) => {
        clearTimeout(this.pongTimer);
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (_error) {
          return;
        }
        if (message && message.type !== "pong") {
          this.onMessage(message);
        }
      };
      ws.onclose = (event) => {
        if (this.ws !== ws) return;
        this._abandon();
        if (REFUSALS[event.code]) {
          this.refused = true;
          this._setState("offline", REFUSALS[event.code]);
        } else {
          this._scheduleReconnect();
        }
      };
    }

    /** Forget the current socket (its late events are ignored) and close it. */
    _abandon() {
      const ws = this.ws;
      this.ws = null;
      clearInterval(this.pingTimer);
      clearTimeout(this.pongTimer);
      if (ws) {
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
          ws.close();
        }
      }
    }

    _scheduleReconnect() {
      if (this.refused) return;
      clearTimeout(this.retryTimer);
      if (navigator.onLine === false) {
        this._setState("offline");
        return;
      }
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
      const delay = base / 2 + Math.random() * (base / 2);
      this.attempt += 1;
      this._setState("reconnecting");
      this.retryTimer = setTimeout(() => this._connect(), delay);
    }

    _reconnectNow() {
      if (this.refused || this.ws) return;
      this.attempt = 0;
      this._setState("reconnecting");
      this._connect();
    }

    _goOffline() {
      clearTimeout(this.retryTimer);
      this._abandon();
      if (!this.refused) this._setState("offline");
    }

    _startPing() {
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => {
        if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
        this.ws.send(JSON.stringify({ type: "ping" }));
        clearTimeout(this.pongTimer);
        this.pongTimer = setTimeout(() => this.drop(), PONG_WITHIN_MS);
      }, PING_EVERY_MS);
    }

    _setState(state, text) {
      if (!this.indicator) return;
      this.indicator.dataset.state = state;
      const label = this.indicator.querySelector(".connection__text");
      if (label) label.textContent = text || STATE_TEXT[state];
    }
  }

  /** "just now", "42 s ago", "5 min ago", "3 h ago", or a date. */
  function relativeTime(iso, now) {
    const then = new Date(iso);
    if (Number.isNaN(then.getTime())) return "";
    const seconds = Math.max(0, Math.round(((now || Date.now()) - then.getTime()) / 1000));
    if (seconds < 5) return "just now";
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return then.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
  }

  function localDateTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    return date.toLocaleString(undefined, {
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
    });
  }

  /** Rewrite the text of <time data-format> elements under `root` in the reader's terms. */
  function formatTimes(root) {
    const now = Date.now();
    for (const el of (root || document).querySelectorAll("time[data-format]")) {
      const iso = el.getAttribute("datetime");
      if (!iso) continue;
      el.title = localDateTime(iso);
      el.textContent =
        el.dataset.format === "relative" ? relativeTime(iso, now) : localDateTime(iso);
    }
  }

  /** Parse a server-rendered page or fragment; scripts in it do not run. */
  async function fetchDocument(url) {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    });
    if (!response.ok || new URL(response.url).pathname.startsWith("/accounts/login")) {
      throw new Error("Could not refresh from " + url + " (" + response.status + ")");
    }
    return new DOMParser().parseFromString(await response.text(), "text/html");
  }

  function readConfig() {
    return JSON.parse(document.getElementById("live-config").textContent);
  }

  setInterval(() => formatTimes(document), 10000);
  document.addEventListener("DOMContentLoaded", () => formatTimes(document));

  // --- the dashboard feed and the header's count of open requests -------------------------

  /**
   * The page's one socket to /ws/dashboard/, started once the page's scripts have run (they
   * are deferred, so before DOMContentLoaded). A page listens with
   * `Aleph.dashboardFeed.listen({onMessage, onOpen})` and may give the feed its connection
   * indicator (`indicator`); the header's count listens on every page.
   */
  const dashboardFeed = {
    listeners: [],
    indicator: null,
    socket: null,
    listen(listener) {
      this.listeners.push(listener);
    },
    start() {
      if (this.socket || !this.listeners.length) return;
      this.socket = new LiveSocket({
        path: () => "/ws/dashboard/",
        indicator: this.indicator,
        onOpen: () => {
          for (const listener of this.listeners) if (listener.onOpen) listener.onOpen();
        },
        onMessage: (message) => {
          for (const listener of this.listeners) if (listener.onMessage) listener.onMessage(message);
        },
      }).start();
    },
  };

  /**
   * The header's count of open requests. Each `{"type": "arena", ..., "requests": {"open",
   * "total"}}` from the dashboard feed updates its arena's counts; the count is the sum of
   * their `open`. `2 * total - open` (the arena's request events) only grows, so older
   * counts never overwrite newer ones. After every (re)connect the counts are fetched again (the feed has
   * no replay), keeping what the feed said meanwhile. Pages hear of every change with
   * `Aleph.requestCounts.onChange(listener)` (the inbox re-fetches its list).
   */
  /** The number of request events behind an arena's counts: it never goes back. */
  function mark(counts) {
    return 2 * counts.total - counts.open;
  }

  const requestCounts = {
    arenas: new Map(),
    listeners: [],
    heard: null,
    onChange(listener) {
      this.listeners.push(listener);
    },
    total() {
      let sum = 0;
      for (const counts of this.arenas.values()) sum += counts.open;
      return sum;
    },
    /** Record an arena's counts unless older than those known; true when they are news
     *  (an arena not known had no open request when the counts were last fetched). */
    record(arenaId, counts) {
      const known = this.arenas.get(arenaId);
      if (known && mark(known) >= mark(counts)) return false;
      this.arenas.set(arenaId, { open: counts.open, total: counts.total });
      return known ? true : counts.open > 0;
    },
    show() {
      const element = document.getElementById("requests-count");
      if (!element) return;
      const total = this.total();
      element.textContent = String(total);
      element.dataset.count = String(total);
    },
    changed() {
      this.show();
      for (const listener of this.listeners) listener();
    },
    heardOf(message) {
      if (message.type !== "arena" || !message.arena || !message.requests) return;
      if (this.heard) this.heard.add(message.arena.id);
      if (this.record(message.arena.id, message.requests)) this.changed();
    },
    async resync() {
      if (this.heard) return;
      this.heard = new Set();
      try {
        const link = document.getElementById("requests-link");
        const response = await fetch(link.dataset.countsUrl, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (!response.ok || new URL(response.url).pathname.startsWith("/accounts/login")) {
          throw new Error("Could not refresh the request counts (" + response.status + ")");
        }
        const fresh = (await response.json()).arenas;
        const arenas = new Map();
        for (const [id, counts] of Object.entries(fresh)) arenas.set(id, counts);
        for (const id of this.heard) {
          const mine = this.arenas.get(id);
          const theirs = arenas.get(id);
          if (mine && !(theirs && mark(theirs) >= mark(mine))) arenas.set(id, mine);
        }
        this.arenas = arenas;
        this.changed();
      } catch (error) {
        console.warn(error);
      } finally {
        this.heard = null;
      }
    },
  };

  document.addEventListener("DOMContentLoaded", () => {
    if (document.getElementById("requests-count")) {
      dashboardFeed.listen({
        onOpen: () => requestCounts.resync(),
        onMessage: (message) => requestCounts.heardOf(message),
      });
    }
    dashboardFeed.start();
  });

  window.Aleph = {
    LiveSocket,
    relativeTime,
    localDateTime,
    formatTimes,
    fetchDocument,
    readConfig,
    dashboardFeed,
    requestCounts,
  };
})();

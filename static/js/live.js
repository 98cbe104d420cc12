/*
 * Aleph Arena: the live connection and the helpers both dashboard pages share.
 *
 * LiveSocket keeps one websocket to the server open. After a drop it reconnects with
 * exponential backoff (0.5 s doubling up to 15 s, with jitter); it pings every 20 s and
 * treats a ping left unanswered for 10 s as a drop; it waits for the browser to be online
 * again before reconnecting; and it reports its state on the page's connection indicator,
 * in text: "Live", "Reconnecting…" or "Offline…".
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

  window.Aleph = { LiveSocket, relativeTime, localDateTime, formatTimes, fetchDocument, readConfig };
})();

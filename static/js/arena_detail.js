/*
 * The arena page: the live event feed from /ws/arenas/{id}/ and the panels it keeps fresh.
 *
 * The feed starts from the events rendered with the page and connects with
 * `?after=<last seq shown>`, on the first connect and on every reconnect, so it misses
 * nothing; an event whose seq was already shown is dropped, and a gap (which the server
 * should never leave) makes it reconnect from the last seq it has. After the snapshot and
 * after each event, the panels (progress, lifecycle, participants, plan, artifacts, facts,
 * staff controls) are fetched again from the server's fragment and swapped in; also every
 * `refreshSeconds` while the page is visible, since presence and lease renewals are not
 * events. Every second, each lease in the plan counts down from its `expires_at` on the
 * browser's clock, corrected by the server's time given with the page.
 */
(function () {
  "use strict";

  const config = window.Aleph.readConfig();
  const feed = document.getElementById("feed");
  const FEED_MAX = 300;
  const ICONS = {
    arena_created: "✦",
    agent_joined: "→",
    agent_left: "←",
    step_completed: "✓",
    goal_updated: "✎",
    status_changed: "⇢",
    progress_updated: "↻",
    artifact_published: "▣",
    artifacts_merged: "⊕",
    fact_shared: "✱",
    message_posted: "✉",
    arena_settled: "⚑",
    step_claimed: "◷",
    claim_released: "↶",
    claim_expired: "⊘",
    input_requested: "?",
    input_provided: "↩",
    input_cancelled: "✕",
    usage_reported: "$",
    budget_changed: "⚖",
    budget_warning: "⚠",
    budget_exhausted: "⛔",
    arena_forked: "⑂",
  };
  // Events whose sentence already names their actor.
  const SAYS_WHO = new Set(["message_posted", "input_provided"]);
  // Events the system appends by itself (actor null), which say so.
  const BY_THE_SYSTEM = new Set(["claim_expired", "budget_warning", "budget_exhausted"]);
  const REFRESH_MS = config.refreshSeconds * 1000;
  // The server's clock minus the browser's, for lease countdowns.
  const clockOffset = Date.parse(config.serverTime) - Date.now() || 0;
  let lastSeq = 0;
  let live = null;

  function node(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined && text !== null) element.textContent = String(text);
    return element;
  }

  function who(id) {
    if (!id) return node("span", "event__system", "The system");
    return node("span", id.startsWith("staff:") ? "mono event__staff" : "mono", id);
  }

  function quote(text) {
    return node("q", "event__quote", text);
  }

  function status(value) {
    return node("strong", "", config.statusLabels[value] || value);
  }

  /** A <time> showing `iso` as the reader's local clock time. */
  function clock(iso) {
    const time = node("time", "", "");
    time.setAttribute("datetime", iso);
    const at = new Date(iso);
    time.textContent = at.toLocaleTimeString(undefined, {
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    time.title = at.toLocaleString();
    return time;
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  function amount(value) {
    return typeof value === "string" ? "$" + value : plural(value, "token");
  }

  function scope(value) {
    return value === "arena" ? node("span", "", "The arena") : who(value);
  }

  function budgetText(budget) {
    if (!budget) return "none";
    const parts = [];
    if (budget.cost_usd) parts.push("$" + budget.cost_usd);
    if (budget.tokens !== undefined) parts.push(plural(budget.tokens, "token"));
    if (budget.per_agent_cost_usd) parts.push("$" + budget.per_agent_cost_usd + " per agent");
    if (budget.per_agent_tokens !== undefined) parts.push(plural(budget.per_agent_tokens, "token") + " per agent");
    return parts.join(", ") || "none";
  }

  /** The sentence for one event, as text and element parts. */
  function describe(e) {
    switch (e.type) {
      case "arena_created":
        return [
          who(e.created_by || e.actor),
          " created the arena (" + e.strategy + ", ",
          e.total_steps ? plural(e.total_steps, "step") : "open-ended plan",
          ")",
        ];
      case "agent_joined":
        return [who(e.agent_id), " joined as " + e.role];
      case "agent_left":
        return [who(e.agent_id), " left"];
      case "step_completed":
        return [
          who(e.agent_id),
          " completed step " + e.step,
          e.total_steps ? " (" + e.completed_steps + " of " + e.total_steps + ")" : "",
        ];
      case "goal_updated":
        return ["The goal is now ", quote(e.new_goal)];
      case "status_changed":
        return ["Status ", status(e.from_status), " → ", status(e.to_status)];
      case "progress_updated":
        return [who(e.agent_id), " is " + e.slot_status, e.current ? ": " : "", e.current ? quote(e.current) : ""];
      case "artifact_published":
        return [who(e.agent_id), " published " + e.kind.replace("_", " ") + " ", quote(e.title)];
      case "artifacts_merged":
        return [who(e.agent_id), " merged " + plural((e.sources || []).length, "artifact")];
      case "fact_shared":
        return [who(e.agent_id), " shared a fact"];
      case "message_posted":
        return [who(e.actor), " → ", e.to ? who(e.to) : "everyone"];
      case "step_claimed":
        return [who(e.agent_id), " claimed step " + e.step + " until ", clock(e.expires_at)];
      case "claim_released":
        if (e.actor === e.agent_id) return [who(e.agent_id), " released step " + e.step];
        return [who(e.agent_id), "’s claim on step " + e.step + " was released"];
      case "claim_expired":
        return [who(e.agent_id), "’s lease on step " + e.step + " expired"];
      case "usage_reported":
        return [
          who(e.agent_id),
          " used " + e.model + ": " + e.input_tokens + " in, " + e.output_tokens + " out, ",
          e.priced ? "$" + e.cost_usd : "unpriced",
          e.step === null || e.step === undefined ? "" : " (step " + e.step + ")",
          " · total $" + e.totals.cost_usd,
        ];
      case "budget_changed":
        return ["The budget is now ", node("strong", "", budgetText(e.budget))];
      case "budget_warning":
        return [scope(e.scope), " has spent 80% of a limit: " + amount(e.spent) + " of " + amount(e.limit)];
      case "budget_exhausted":
        return [scope(e.scope), " used up a limit: " + amount(e.spent) + " of " + amount(e.limit)];
      case "input_requested":
        if (e.kind === "budget") return ["The budget asks people: raise it or stop"];
        if (e.kind === "review") return [who(e.agent_id), " submitted step " + e.step + " for a person’s review"];
        return [who(e.agent_id), " asked people", e.step === null || e.step === undefined ? "" : " about step " + e.step];
      case "input_provided":
        return [
          who(e.by || e.actor),
          " answered ",
          e.agent_id ? who(e.agent_id) : "the budget",
          e.choice === null || e.choice === undefined ? "" : ": ",
          e.choice === null || e.choice === undefined ? "" : node("strong", "event__choice", e.choice),
        ];
      case "input_cancelled":
        if (!e.agent_id) return ["A budget request was cancelled"];
        if (e.actor === e.agent_id) return [who(e.agent_id), " withdrew a request"];
        return [who(e.agent_id), "’s request was cancelled"];
      case "arena_forked":
        return [who(e.actor), " forked the arena at event #" + e.at];
      case "arena_settled":
        return [
          "Settled: " + plural(e.facts_persisted, "fact") + " kept in long-term memory, ",
          plural(e.artifacts_archived, "artifact") + " archived",
        ];
      default:
        return [e.type];
    }
  }

  function eventItem(e) {
    const item = node("li", "event event--" + e.type);
    item.dataset.seq = String(e.seq);
    item.appendChild(node("span", "event__icon", ICONS[e.type] || "•")).setAttribute(
      "aria-hidden",
      "true"
    );
    const body = item.appendChild(node("div", "event__body"));
    const sentence = body.appendChild(node("p", "event__text"));
    for (const part of describe(e)) {
      sentence.append(part);
    }
    if (e.type === "message_posted" || (e.type === "input_requested" && e.kind !== "review")) {
      body.appendChild(node("p", "event__message", e.text));
    }
    if (e.type === "input_requested" && e.kind !== "review") {
      body.appendChild(
        node("p", "event__choices", e.choices ? "Choices: " + e.choices.join(" · ") : "Free answer")
      );
    }
    if (e.type === "input_provided" && e.text) {
      body.appendChild(node("p", "event__message", e.text));
    }
    const meta = body.appendChild(node("p", "event__meta"));
    meta.append("#" + e.seq + " · ", clock(e.timestamp));
    if (e.actor && e.actor !== e.agent_id && !SAYS_WHO.has(e.type)) {
      meta.append(" · by ", who(e.actor));
    } else if (!e.actor && BY_THE_SYSTEM.has(e.type)) {
      meta.append(" · by ", node("span", "event__system", "the system"));
    }
    return item;
  }

  function showEvent(e, arrived) {
    if (typeof e.seq !== "number" || e.seq <= lastSeq) return false;
    if (e.seq !== lastSeq + 1 && live) {
      live.drop();
      return false;
    }
    lastSeq = e.seq;
    const item = eventItem(e);
    if (arrived) {
      item.classList.add("event--new");
      // Other parts of the page (the spend chart) follow the feed through this.
      document.dispatchEvent(new CustomEvent("aleph:event", { detail: e }));
    }
    feed.prepend(item);
    while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
    document.getElementById("feed-empty").hidden = true;
    return true;
  }

  // --- leases and presence ---------------------------------------------------------------

  /** "4:58 left", "1:02:03 left". */
  function timeLeft(ms) {
    const total = Math.ceil(ms / 1000);
    const two = (n) => String(n).padStart(2, "0");
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    return (hours ? hours + ":" + two(minutes) : String(minutes)) + ":" + two(total % 60) + " left";
  }

  /** Count each lease under `root` down; at zero it has lapsed, until a refresh brings the
   * claim's end (its `claim_expired`) or a renewal. */
  function tickLeases(root) {
    const now = Date.now() + clockOffset;
    for (const lease of root.querySelectorAll("time[data-countdown]")) {
      const until = Date.parse(lease.getAttribute("datetime"));
      if (Number.isNaN(until)) continue;
      const left = Math.max(0, until - now);
      lease.dataset.secondsLeft = String(Math.ceil(left / 1000));
      lease.classList.toggle("claim__lease--lapsed", left === 0);
      lease.textContent = left === 0 ? "lease lapsed" : timeLeft(left);
      lease.title = "Lease until " + window.Aleph.localDateTime(lease.getAttribute("datetime"));
    }
  }

  /** The last-seen tooltip of each presence dot under `root`, in the reader's terms. */
  function describePresence(root) {
    const now = Date.now() + clockOffset;
    for (const presence of root.querySelectorAll(".presence[data-last-seen]")) {
      const seen = presence.dataset.lastSeen;
      presence.title = seen
        ? "Last seen " +
          window.Aleph.relativeTime(seen, now) +
          " (" +
          window.Aleph.localDateTime(seen) +
          ")"
        : "Never seen";
    }
  }

  function tick(root) {
    tickLeases(root);
    describePresence(root);
  }

  // --- panels ---------------------------------------------------------------------------
  const served = new Map();
  let refreshTimer = null;
  let periodicTimer = null;
  let refreshing = false;
  let refreshAgain = false;

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshPanels, 150);
  }

  /** The next refresh without an event, while the page is visible. */
  function schedulePeriodicRefresh() {
    clearTimeout(periodicTimer);
    if (!document.hidden) periodicTimer = setTimeout(refreshPanels, REFRESH_MS);
  }

  /** A panel's HTML without its CSRF tokens, which differ on every render. */
  function signature(panel) {
    const copy = panel.cloneNode(true);
    for (const input of copy.querySelectorAll("input[name=csrfmiddlewaretoken]")) {
      input.removeAttribute("value");
    }
    return copy.outerHTML;
  }

  /** Keep what the person typed or chose when a panel is replaced. */
  function carryOver(from, to) {
    for (const control of from.querySelectorAll("textarea[id], select[id], input[id]")) {
      if (control.type === "hidden") continue;
      const twin = to.querySelector("#" + CSS.escape(control.id));
      if (!twin) continue;
      if (twin.tagName === "SELECT" && !Array.from(twin.options).some((o) => o.value === control.value)) {
        continue;
      }
      twin.value = control.value;
    }
  }

  async function refreshPanels() {
    if (window.AlephHistory && window.AlephHistory.showing()) return;
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    try {
      const doc = await window.Aleph.fetchDocument(config.panelsUrl);
      for (const fresh of doc.querySelectorAll("[data-panel]")) {
        const name = fresh.dataset.panel;
        const current = document.querySelector('[data-panel="' + name + '"]');
        const html = signature(fresh);
        if (!current || served.get(name) === html) continue;
        if (current.contains(document.activeElement) && document.activeElement !== document.body) {
          if (!current.dataset.refreshOnBlur) {
            current.dataset.refreshOnBlur = "yes";
            current.addEventListener("focusout", scheduleRefresh, { once: true });
          }
          continue;
        }
        const replacement = document.importNode(fresh, true);
        carryOver(current, replacement);
        current.replaceWith(replacement);
        served.set(name, html);
        window.Aleph.formatTimes(replacement);
        tick(replacement);
      }
      const goal = document.getElementById("arena-goal");
      if (goal) {
        const chars = Array.from(goal.textContent);
        const short = chars.length > 60 ? chars.slice(0, 59).join("") + "…" : goal.textContent;
        document.title = short + " · Aleph Arena";
      }
    } catch (error) {
      console.warn(error);
    } finally {
      refreshing = false;
      if (refreshAgain) {
        refreshAgain = false;
        scheduleRefresh();
      }
      schedulePeriodicRefresh();
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      clearTimeout(periodicTimer);
    } else {
      scheduleRefresh();
    }
  });

  // --- start ----------------------------------------------------------------------------
  for (const e of config.events) showEvent(e, false);
  tick(document);
  setInterval(() => tick(document), 1000);
  schedulePeriodicRefresh();

  live = new window.Aleph.LiveSocket({
    path: () => "/ws/arenas/" + config.arenaId + "/?after=" + lastSeq,
    indicator: document.getElementById("connection"),
    onMessage: (message) => {
      if (message.type === "snapshot") {
        scheduleRefresh();
      } else if (message.type === "event" && message.event) {
        const shown = showEvent(message.event, true);
        if (shown && window.AlephHistory) window.AlephHistory.onEvent(message.event);
        if (shown && message.event.type !== "message_posted") {
          scheduleRefresh();
        }
      }
    },
  }).start();

  window.AlephLive = live;
  window.AlephFeed = {
    lastSeq: () => lastSeq,
    eventItem: eventItem,
    // After the history view showed the past: every panel is replaced by the live one.
    showLive: () => {
      served.clear();
      refreshPanels();
    },
    tick: tick,
  };
})();

/*
 * The arena page's history view: a scrubber over the arena's log and a timeline chart.
 *
 * The log is loaded once (/arenas/{id}/history/) and kept up to date from the live feed
 * (arena_detail.js hands each new event to `onEvent`). Moving the scrubber (dragging it,
 * its arrow keys, the step buttons, or a click on a mark of the timeline) shows at once the
 * position, the event's time and the feed up to that event, from the loaded events, with
 * no request; once it rests for a moment, the panels (progress, lifecycle, participants,
 * plan, claims, open requests, artifacts, facts) are fetched for that seq from the
 * server's fold of the log (/arenas/{id}/panels/?at=) and kept, so coming back to a seq
 * asks nothing. "Back to live" returns to the live panels and feed. Staff fork from the
 * seq shown ("Fork from here").
 *
 * The timeline (vis-timeline, served from static/vendor) has one lane per agent: claims as
 * bars from the claim to its completion, release or expiry, reviews waiting as bars,
 * messages, questions, facts and completions as marks; clicking an item moves the
 * scrubber to its event. Every item is also a stop of the Tab key (a button named by what
 * it marks): Enter or Space on it moves the scrubber there too.
 */
(function () {
  "use strict";

  const config = window.Aleph.readConfig();
  const range = document.getElementById("history-seq");
  const where = document.getElementById("history-where");
  const liveButton = document.getElementById("history-live");
  const forkAt = document.getElementById("history-fork-at");
  const liveFeed = document.getElementById("feed");
  const historyFeed = document.getElementById("history-feed");
  const SETTLE_MS = 120;
  const FEED_SHOWN = 50;
  const PEOPLE = "people";
  const events = [];
  const panels = new Map();
  let shown = null; // the seq shown, or null while live
  let settleTimer = null;
  let timeline = null;
  let items = null;
  let groups = null;
  let titles = new Map(); // seq -> what the timeline item at that seq marks

  function last() {
    return events.length ? events[events.length - 1].seq : Number(range.max);
  }

  function eventAt(seq) {
    const first = events.length ? events[0].seq : 1;
    return events[seq - first];
  }

  // --- the scrubber --------------------------------------------------------------------

  function show(seq) {
    seq = Math.max(Number(range.min), Math.min(last(), seq));
    shown = seq;
    range.value = String(seq);
    if (forkAt) forkAt.value = String(seq);
    document.body.classList.add("is-history");
    liveButton.hidden = false;
    liveFeed.hidden = true;
    historyFeed.hidden = false;
    describe(seq);
    renderFeed(seq);
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => loadPanels(seq), SETTLE_MS);
    if (timeline) timeline.setCustomTime(timeOf(seq), "shown");
  }

  function describe(seq) {
    const e = eventAt(seq);
    const when = e ? new Date(e.timestamp).toLocaleString() : "";
    where.textContent = "Event #" + seq + " of " + last() + (e ? " · " + e.type.replace(/_/g, " ") + " · " + when : "");
    where.dataset.seq = String(seq);
  }

  function renderFeed(seq) {
    const shownEvents = [];
    for (let s = seq; s >= 1 && shownEvents.length < FEED_SHOWN; s--) {
      const e = eventAt(s);
      if (!e) break;
      shownEvents.push(window.AlephFeed.eventItem(e));
    }
    historyFeed.replaceChildren(...shownEvents);
  }

  async function loadPanels(seq) {
    let doc = panels.get(seq);
    if (!doc) {
      try {
        doc = await window.Aleph.fetchDocument(config.panelsUrl + "?at=" + seq);
      } catch (error) {
        console.warn(error);
        return;
      }
      panels.set(seq, doc);
    }
    if (shown !== seq) return;
    swapPanels(doc);
    document.body.dataset.historySeq = String(seq);
  }

  function swapPanels(doc) {
    for (const fresh of doc.querySelectorAll("[data-panel]")) {
      const current = document.querySelector('[data-panel="' + fresh.dataset.panel + '"]');
      if (!current) continue;
      const replacement = document.importNode(fresh, true);
      current.replaceWith(replacement);
      window.Aleph.formatTimes(replacement);
    }
  }

  function backToLive() {
    shown = null;
    clearTimeout(settleTimer);
    document.body.classList.remove("is-history");
    delete document.body.dataset.historySeq;
    liveButton.hidden = true;
    liveFeed.hidden = false;
    historyFeed.hidden = true;
    historyFeed.replaceChildren();
    range.value = String(last());
    if (forkAt) forkAt.value = String(last());
    where.textContent = "Live";
    delete where.dataset.seq;
    if (timeline) timeline.setCustomTime(timeOf(last()), "shown");
    window.AlephFeed.showLive();
    range.focus();
  }

  range.addEventListener("input", () => show(Number(range.value)));
  document.getElementById("history-back").addEventListener("click", () =>
    show((shown === null ? last() : shown) - 1)
  );
  document.getElementById("history-forward").addEventListener("click", () =>
    show((shown === null ? last() : shown) + 1)
  );
  liveButton.addEventListener("click", backToLive);

  // --- the timeline --------------------------------------------------------------------

  function timeOf(seq) {
    const e = eventAt(seq);
    return e ? new Date(e.timestamp) : new Date();
  }

  function lane(id) {
    return id && !id.startsWith("staff:") ? id : PEOPLE;
  }

  /** The timeline's lanes and items, folded from the loaded events. */
  function chart() {
    const lanes = new Set();
    const bars = new Map(); // claim id or request id -> item
    const onStep = new Map(); // step -> claim item still open
    const marks = [];
    const now = events.length ? new Date(events[events.length - 1].timestamp) : new Date();
    const close = (item, e) => {
      if (item && item.end === null) item.end = new Date(e.timestamp);
    };
    for (const e of events) {
      const at = new Date(e.timestamp);
      switch (e.type) {
        case "agent_joined":
          lanes.add(e.agent_id);
          break;
        case "step_claimed": {
          const bar = { id: "claim-" + e.claim_id, group: e.agent_id, start: at, end: null, content: "step " + e.step, className: "tl-claim", seq: e.seq, title: e.agent_id + " holds step " + e.step };
          bars.set(bar.id, bar);
          onStep.set(e.step, bar);
          lanes.add(e.agent_id);
          break;
        }
        case "claim_released":
        case "claim_expired": {
          const bar = bars.get("claim-" + e.claim_id);
          close(bar, e);
          if (bar && e.type === "claim_expired") bar.className += " tl-claim--expired";
          onStep.delete(e.step);
          break;
        }
        case "step_completed":
          close(onStep.get(e.step), e);
          onStep.delete(e.step);
          marks.push({ id: "done-" + e.seq, group: lane(e.agent_id), start: at, type: "point", content: "✓ " + e.step, className: "tl-done", seq: e.seq, title: e.agent_id + " completed step " + e.step });
          break;
        case "input_requested":
          if (e.kind === "review") {
            close(onStep.get(e.step), e);
            onStep.delete(e.step);
            bars.set("request-" + e.request_id, { id: "request-" + e.request_id, group: e.agent_id, start: at, end: null, content: "review " + e.step, className: "tl-review", seq: e.seq, title: "Step " + e.step + " waits for a review" });
          } else {
            marks.push({ id: "ask-" + e.seq, group: lane(e.agent_id), start: at, type: "point", content: "?", className: "tl-question", seq: e.seq, title: e.text });
          }
          break;
        case "input_provided":
        case "input_cancelled":
          close(bars.get("request-" + e.request_id), e);
          break;
        case "message_posted":
          marks.push({ id: "msg-" + e.seq, group: lane(e.agent_id), start: at, type: "point", content: "✉", className: "tl-message", seq: e.seq, title: e.text });
          break;
        case "fact_shared":
          marks.push({ id: "fact-" + e.seq, group: lane(e.agent_id), start: at, type: "point", content: "✱", className: "tl-fact", seq: e.seq, title: e.agent_id + " shared a fact" });
          break;
        default:
          break;
      }
    }
    const all = [...bars.values()].map((bar) => ({ ...bar, end: bar.end || now, type: "range" }));
    all.push(...marks);
    for (const item of all) item.className += " tl-at-" + item.seq; // found again by keyboard
    for (const item of all) lanes.add(item.group);
    const laneList = [...lanes].sort().map((id) => ({ id: id, content: id === PEOPLE ? "people" : id }));
    return { lanes: laneList, items: all };
  }

  function seqOfItem(element) {
    const found = element && /(?:^|\s)tl-at-(\d+)/.exec(element.className);
    return found ? Number(found[1]) : null;
  }

  /** Every drawn item a stop of the Tab key, a button named by what it marks (vis-timeline
   * draws them again as the view moves, so after each drawing). */
  function focusable(container) {
    // A point's dot and a box's line are drawn as items of their own: one stop per item.
    for (const element of container.querySelectorAll(".vis-item:not(.vis-dot):not(.vis-line)")) {
      const seq = seqOfItem(element);
      if (seq === null) continue;
      const title = titles.get(seq);
      element.tabIndex = 0;
      element.setAttribute("role", "button");
      element.setAttribute("aria-label", (title ? title + ", " : "") + "event " + seq + ": show the arena then");
    }
  }

  function drawTimeline() {
    const container = document.getElementById("timeline");
    if (!window.vis || !container || !events.length) return;
    const drawn = chart();
    titles = new Map(drawn.items.map((item) => [item.seq, item.title]));
    if (!timeline) {
      groups = new window.vis.DataSet(drawn.lanes);
      items = new window.vis.DataSet(drawn.items);
      timeline = new window.vis.Timeline(container, items, groups, {
        stack: false,
        selectable: true,
        zoomKey: "ctrlKey",
        margin: { item: 4 },
        orientation: { axis: "top" },
        tooltip: { followMouse: true },
      });
      timeline.addCustomTime(timeOf(shown === null ? last() : shown), "shown");
      timeline.on("select", (properties) => {
        const id = properties.items && properties.items[0];
        const item = id && items.get(id);
        if (item) show(item.seq);
      });
      timeline.on("changed", () => focusable(container));
      container.addEventListener("keydown", (event) => {
        if (event.key !== "Enter" && event.key !== " ") return;
        const seq = seqOfItem(event.target.closest && event.target.closest(".vis-item"));
        if (seq === null) return;
        event.preventDefault();
        show(seq);
      });
    } else {
      groups.update(drawn.lanes);
      items.clear();
      items.add(drawn.items);
    }
  }

  // --- loading, and the live feed's events ---------------------------------------------

  function add(e) {
    if (events.length && e.seq !== last() + 1) return false;
    events.push(e);
    range.max = String(e.seq);
    if (shown === null) {
      range.value = String(e.seq);
      if (forkAt) forkAt.value = String(e.seq);
    }
    return true;
  }

  let redraw = null;
  window.AlephHistory = {
    showing: () => shown !== null,
    shown: () => shown,
    show: show,
    onEvent: (e) => {
      if (add(e)) {
        clearTimeout(redraw);
        redraw = setTimeout(drawTimeline, 300);
      }
    },
  };

  (async function load() {
    try {
      const response = await fetch(config.historyUrl, { credentials: "same-origin" });
      const body = await response.json();
      const pending = events.splice(0);
      for (const e of body.events) add(e);
      for (const e of pending) add(e);
      range.min = String(events.length ? events[0].seq : 1);
      document.getElementById("history").dataset.loaded = String(events.length);
      drawTimeline();
    } catch (error) {
      console.warn(error);
    }
  })();
})();

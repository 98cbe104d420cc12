/*
 * The arena list: each `{"type": "arena", "arena": <summary>}` from /ws/dashboard/ (the
 * page's one dashboard feed, `Aleph.dashboardFeed`, which the header's count shares) updates
 * its row in place, inserts a new arena at the top of the first page, and removes a row
 * that no longer matches the status filter. Rows are clones of the server's row template,
 * filled with textContent. After every (re)connect the list is fetched once again, so
 * changes made while the socket was closed show too; a row never goes back to an older
 * state (rows carry the arena's last event seq).
 */
(function () {
  "use strict";

  const config = window.Aleph.readConfig();
  const template = document.getElementById("arena-row-template");

  function list() {
    return document.getElementById("arena-list");
  }

  function rowFor(arenaId, root) {
    for (const row of (root || list()).children) {
      if (row.dataset.arenaId === arenaId) return row;
    }
    return null;
  }

  function progressText(completed, total) {
    if (total) return completed + " of " + total + " steps";
    return completed + (completed === 1 ? " step" : " steps") + " · open plan";
  }

  function field(row, name) {
    return row.querySelector('[data-field="' + name + '"]');
  }

  function fill(row, arena) {
    row.dataset.arenaId = arena.id;
    row.dataset.status = arena.status;
    row.dataset.lastSeq = String(arena.last_seq);

    const goal = field(row, "goal");
    goal.textContent = arena.goal;
    goal.href = config.arenaUrl.replace(config.arenaIdPlaceholder, arena.id);

    field(row, "status").className = "badge badge--" + arena.status;
    field(row, "status-label").textContent = config.statusLabels[arena.status] || arena.status;

    const text = progressText(arena.completed_steps, arena.total_steps);
    const bar = field(row, "progress");
    bar.max = arena.total_steps || 1;
    bar.value = arena.total_steps ? arena.completed_steps : 0;
    bar.setAttribute("aria-valuetext", text);
    field(row, "progress-text").textContent = text;

    field(row, "participants").textContent = String(arena.participant_count);
    field(row, "participants-label").textContent =
      arena.participant_count === 1 ? "participant" : "participants";

    const spend = field(row, "spend");
    spend.textContent =
      "$" + arena.cost_usd + (arena.budget_cost_usd ? " of $" + arena.budget_cost_usd : "");
    // Shown once something was spent or a budget is set.
    spend.hidden = arena.cost_usd === "0.000000" && !arena.budget_cost_usd;

    const activity = field(row, "activity");
    activity.setAttribute("datetime", arena.last_activity);
    window.Aleph.formatTimes(row);
  }

  function highlight(row) {
    row.classList.remove("arena-row--changed");
    void row.offsetWidth; // restart the highlight animation
    row.classList.add("arena-row--changed");
  }

  function updateEmpty() {
    document.getElementById("arena-empty").hidden = list().children.length > 0;
  }

  // While the list is being fetched again: what the socket said meanwhile, id -> last_seq.
  let heard = null;

  function onSummary(arena) {
    if (heard) heard.set(arena.id, Math.max(heard.get(arena.id) || 0, arena.last_seq));
    let row = rowFor(arena.id);
    if (row && Number(row.dataset.lastSeq) > arena.last_seq) return;
    if (config.status && arena.status !== config.status) {
      if (row) row.remove();
      updateEmpty();
      return;
    }
    if (!row) {
      if (!config.insertNew) return;
      row = template.content.firstElementChild.cloneNode(true);
      list().prepend(row);
    }
    fill(row, arena);
    highlight(row);
    updateEmpty();
  }

  /** Fetch the list again (after a (re)connect: summaries may have been missed), keeping
   *  what the socket said while the page was on its way when it is newer than the page. */
  async function resync() {
    if (heard) return;
    heard = new Map();
    try {
      const doc = await window.Aleph.fetchDocument(window.location.href);
      const fresh = document.importNode(doc.getElementById("arena-list"), true);
      for (const [id, seq] of heard) {
        const stale = rowFor(id, fresh);
        if (stale && Number(stale.dataset.lastSeq) >= seq) continue;
        const current = rowFor(id);
        if (stale && current) stale.replaceWith(current);
        else if (stale) stale.remove();
        else if (current) fresh.prepend(current);
      }
      list().replaceWith(fresh);
      window.Aleph.formatTimes(fresh);
      updateEmpty();
    } catch (error) {
      console.warn(error);
    } finally {
      heard = null;
    }
  }

  const feed = window.Aleph.dashboardFeed;
  feed.indicator = document.getElementById("connection");
  feed.listen({
    onOpen: resync,
    onMessage: (message) => {
      if (message.type === "arena" && message.arena) onSummary(message.arena);
    },
  });
  document.addEventListener("DOMContentLoaded", () => {
    window.AlephLive = feed.socket;
  });
})();

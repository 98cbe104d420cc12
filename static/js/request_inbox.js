/*
 * The inbox of open requests (/requests/): whenever the header's request counts change (an
 * arena's requests were opened, answered or cancelled, heard on the dashboard feed, or the
 * counts were fetched again after a (re)connect), the list is fetched again from the server
 * and swapped in, so the page has one renderer: its template. Fetches never overlap; a
 * change heard during one fetches once more after it. What staff typed into an answer's
 * text box (and where the cursor was) survives the swap.
 */
(function () {
  "use strict";

  const feed = window.Aleph.dashboardFeed;
  feed.indicator = document.getElementById("connection");
  let timer = null;
  let fetching = false;
  let again = false;

  async function refresh() {
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    try {
      const doc = await window.Aleph.fetchDocument(window.location.href);
      const typed = typedText();
      for (const id of ["request-list", "request-empty"]) {
        const fresh = doc.getElementById(id);
        const current = document.getElementById(id);
        if (!fresh || !current) continue;
        const replacement = document.importNode(fresh, true);
        current.replaceWith(replacement);
        window.Aleph.formatTimes(replacement);
      }
      restoreText(typed);
    } catch (error) {
      console.warn(error);
    } finally {
      fetching = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }

  /** The text boxes of the list that hold text, and the one with the cursor. */
  function typedText() {
    const boxes = document.querySelectorAll("#request-list textarea");
    const values = {};
    for (const box of boxes) if (box.value) values[box.id] = box.value;
    const active = document.activeElement;
    const focused = active && active.closest("#request-list") ? active.id : null;
    const selection = focused && active.selectionStart !== undefined
      ? [active.selectionStart, active.selectionEnd] : null;
    return { values, focused, selection };
  }

  function restoreText({ values, focused, selection }) {
    for (const [id, value] of Object.entries(values)) {
      const box = document.getElementById(id);
      if (box) box.value = value;
    }
    const box = focused && document.getElementById(focused);
    if (box) {
      box.focus();
      if (selection && box.setSelectionRange) box.setSelectionRange(...selection);
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 100);
  }

  window.Aleph.requestCounts.onChange(schedule);
  document.addEventListener("DOMContentLoaded", () => {
    window.AlephLive = feed.socket;
  });
})();

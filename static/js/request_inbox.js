/*
 * The inbox of open requests (/requests/): whenever the header's request counts change (an
 * arena's requests were opened, answered or cancelled, heard on the dashboard feed, or the
 * counts were fetched again after a (re)connect), the list is fetched again from the server
 * and swapped in, so the page has one renderer: its template. Fetches never overlap; a
 * change heard during one fetches once more after it.
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
      for (const id of ["request-list", "request-empty"]) {
        const fresh = doc.getElementById(id);
        const current = document.getElementById(id);
        if (!fresh || !current) continue;
        const replacement = document.importNode(fresh, true);
        current.replaceWith(replacement);
        window.Aleph.formatTimes(replacement);
      }
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

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 100);
  }

  window.Aleph.requestCounts.onChange(schedule);
  document.addEventListener("DOMContentLoaded", () => {
    window.AlephLive = feed.socket;
  });
})();

// The job page: while the job runs, its counts follow progress.json every second.
(function () {
  const box = document.getElementById("progress");
  if (!box || box.dataset.running !== "true") return;
  function tick() {
    fetch(box.dataset.url, { credentials: "same-origin" }).then(function (r) {
      return r.json();
    }).then(function (p) {
      document.getElementById("objects-done").textContent = p.objects_done;
      document.getElementById("objects-total").textContent = p.objects_total;
      Object.keys(p.stats).forEach(function (k) {
        const el = document.querySelector('#job-stats [data-stat="' + k + '"]');
        if (el) el.textContent = p.stats[k];
      });
      if (p.status === "Running" || p.status === "New") setTimeout(tick, 1000);
      else document.getElementById("job-status").textContent = "finished: reload for the report";
    }).catch(function () {
      setTimeout(tick, 3000);
    });
  }
  setTimeout(tick, 1000);
})();

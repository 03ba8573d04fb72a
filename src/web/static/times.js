// Times in the viewer's own time zone: <time data-relative> reads "3 hours ago (2026-12-02 07:41 CET)",
// <time data-absolute> "2026-12-02 07:41:07 CET". The server wrote the same in UTC.
(function () {
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], [
    "minute",
    60,
  ]];
  function relative(date) {
    const seconds = Math.round((date.getTime() - Date.now()) / 1000);
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size) return rtf.format(Math.trunc(seconds / size), unit);
    }
    return rtf.format(seconds, "second");
  }
  function local(date, withSeconds) {
    const parts = new Intl.DateTimeFormat("en-CA", {
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: withSeconds ? "2-digit" : undefined,
      hourCycle: "h23",
      timeZoneName: "short",
    }).formatToParts(date);
    const get = (t) => (parts.find((p) => p.type === t) || {}).value || "";
    const time = get("hour") + ":" + get("minute") + (withSeconds ? ":" + get("second") : "");
    return get("year") + "-" + get("month") + "-" + get("day") + " " + time + " " + get("timeZoneName");
  }
  function render() {
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      const date = new Date(el.getAttribute("datetime"));
      el.title = local(date, true);
      el.textContent = relative(date) + " (" + local(date, false) + ")";
    });
    document.querySelectorAll("time[data-absolute]").forEach(function (el) {
      el.textContent = local(new Date(el.getAttribute("datetime")), true);
    });
  }
  render();
  setInterval(function () {
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      const date = new Date(el.getAttribute("datetime"));
      el.textContent = relative(date) + " (" + local(date, false) + ")";
    });
  }, 30000);
})();

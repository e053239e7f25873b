// sitegate live reload: injected into HTML pages in development mode only.
(() => {
  const me = document.currentScript;
  let build = me ? me.dataset.build : "";
  let source = null;

  const overlayId = "sitegate-error-overlay";

  function showError(error) {
    let box = document.getElementById(overlayId);
    if (!box) {
      box = document.createElement("div");
      box.id = overlayId;
      box.setAttribute("role", "alert");
      box.style.cssText =
        "position:fixed;inset:0;z-index:2147483647;background:rgba(20,0,0,.92);color:#fff;" +
        "font:14px/1.5 ui-monospace,Menlo,monospace;padding:2rem;overflow:auto;white-space:pre-wrap";
      document.documentElement.appendChild(box);
    }
    const where = error.file ? error.file + (error.line ? ":" + error.line : "") : "";
    box.textContent =
      "Build failed: " + error.site + "\n\n" + (where ? where + "\n" : "") + error.message +
      (error.log ? "\n\n" + error.log : "");
  }

  function swapStylesheets(paths) {
    const stamp = Date.now();
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      const url = new URL(link.href, location.href);
      if (url.origin !== location.origin) continue;
      if (paths && paths.length && !paths.includes(url.pathname)) continue;
      url.searchParams.set("sitegate", String(stamp));
      link.href = url.pathname + url.search;
    }
  }

  function connect() {
    if (source) return;
    const url = "/_sitegate/events?path=" + encodeURIComponent(location.pathname);
    source = new EventSource(url);
    source.addEventListener("hello", (event) => {
      const data = JSON.parse(event.data);
      if (data.error) return showError(data.error);
      // After a restart or a hidden spell, the build may have moved on without us.
      if (data.build && data.build !== build) location.reload();
      build = data.build || build;
      window.__sitegate = { connected: true, build };
    });
    source.addEventListener("build", (event) => {
      build = JSON.parse(event.data).build;
    });
    source.addEventListener("reload", () => location.reload());
    source.addEventListener("css", (event) => {
      const data = JSON.parse(event.data);
      build = data.build;
      swapStylesheets(data.paths);
    });
    source.addEventListener("error-overlay", (event) => showError(JSON.parse(event.data)));
  }

  function disconnect() {
    if (source) source.close();
    source = null;
  }

  document.addEventListener("visibilitychange", () => (document.hidden ? disconnect() : connect()));
  window.addEventListener("pagehide", disconnect);
  if (!document.hidden) connect();
})();

// sphinxcontrib-mermaid loads Mermaid with `import mermaid from "<mermaid_use_local>"`, so it
// needs an ES module, and it asks for one only on pages that have a diagram. The book ships
// Mermaid's single-file build (mermaid.tiny.mjs, next to this file: a classic script that
// defines the global `mermaid`, named .mjs only so that Jupyter Book, which adds every *.js
// file under _static/ to every page, does not load its 2.5 MB on pages without a diagram).
// This module loads that script, once, and hands the global to sphinxcontrib-mermaid, so no
// CDN is ever asked for it. See docs/book_setup.md.
if (!globalThis.mermaid) {
  await new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = new URL("./mermaid.tiny.mjs", import.meta.url).href;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${script.src}`));
    document.head.appendChild(script);
  });
}
export default globalThis.mermaid;

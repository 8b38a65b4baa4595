// sphinxcontrib-mermaid loads Mermaid with `import mermaid from "<mermaid_use_local>"`, so it
// needs an ES module. The book ships Mermaid's single-file build (mermaid.tiny.js, next to this
// file), which Jupyter Book already loads on every page as a classic script and which defines
// the global `mermaid`. This module hands that global to sphinxcontrib-mermaid, so no CDN is
// ever asked for it. See docs/book_setup.md.
export default globalThis.mermaid;

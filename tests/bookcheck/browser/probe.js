// Evaluated in a page again and again until `settled`: what the reader's browser made of
// the page, as JSON. Read by browser.rs (`Probe`).
(() => {
  // Text that is code, machinery or KaTeX's own output may hold `$` and backslashes.
  const SKIP = 'code, pre, script, style, textarea, svg, math, .katex, .katex-display, .mermaid';

  // Images below the fold that ask for lazy loading would never load in a headless
  // window; ask for them now so that a broken one is seen.
  for (const img of document.images) {
    if (img.loading === 'lazy') img.loading = 'eager';
  }
  const images = Array.from(document.images, (img) => ({
    src: img.getAttribute('src') || '',
    url: img.src,
    complete: img.complete,
    loaded: img.complete && img.naturalWidth > 0,
  }));

  // mdbook-mermaid writes each diagram as <pre class="mermaid">; mermaid replaces its
  // text with an <svg>. On a syntax error mermaid draws its own error diagram instead of
  // throwing, marked aria-roledescription="error".
  const mermaidLoaded = typeof window.mermaid !== 'undefined';
  const diagrams = Array.from(document.querySelectorAll('pre.mermaid, div.mermaid'), (el) => {
    const svg = el.querySelector('svg');
    const error = svg !== null && (svg.getAttribute('aria-roledescription') === 'error'
      || /Syntax error in text/.test(svg.textContent));
    // The error diagram's words are in its <text> elements; its textContent starts
    // with its stylesheet.
    const words = error ? Array.from(svg.querySelectorAll('text'), (t) => t.textContent).join(' ')
      : el.textContent;
    return { svg: svg !== null, error, text: words.replace(/\s+/g, ' ').trim().slice(0, 120) };
  });

  const katexErrors = Array.from(document.querySelectorAll('.katex-error'), (el) => ({
    tex: el.textContent.replace(/\s+/g, ' ').trim().slice(0, 80),
    why: el.getAttribute('title') || '',
  }));

  // KaTeX's stylesheet hides the MathML copy of each formula; without it every formula
  // shows twice, once as unstyled text.
  const formulas = document.querySelectorAll('.katex').length;
  const mathml = document.querySelector('.katex .katex-mathml');
  const katexStyled = mathml === null || getComputedStyle(mathml).position === 'absolute';

  // TeX the preprocessor left in the prose: `$$`, or a `$…$` pair by pandoc's rule (an
  // opening `$` before a non-space, a closing `$` after a non-space and not before a
  // digit, so that "$5 and $10" passes).
  const rawTex = [];
  const walker = document.createTreeWalker(document.body || document, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (parent === null || parent.closest(SKIP) !== null) continue;
    const text = node.textContent;
    const found = text.match(/\$\$.{0,60}/) || text.match(/(?<![\\$])\$(?=[^\s$])[^$\n]*[^\s\\$]\$(?![\d$])/);
    if (found) rawTex.push(found[0].replace(/\s+/g, ' ').slice(0, 80));
  }

  const ready = document.readyState === 'complete';
  const diagramsDone = !mermaidLoaded || diagrams.every((d) => d.svg);
  const settled = ready && diagramsDone && images.every((i) => i.complete);
  return JSON.stringify({
    href: location.href,
    settled, ready, mermaidLoaded, images, diagrams, formulas, katexErrors, katexStyled, rawTex,
  });
})()

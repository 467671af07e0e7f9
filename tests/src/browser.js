// What the browser test (tests/src/browser.rs) measures inside a page of
// the rendered book. Each function returns plain data; the Rust side
// decides what is a problem and says so.
window.__book = (() => {
    // A short, findable name for an element: its tag, id and classes, the
    // start of its text and the heading it sits under.
    const describe = (el) => {
        let name = el.tagName.toLowerCase();
        if (el.id) name += '#' + el.id;
        for (const c of el.classList) name += '.' + c;
        const text = (el.textContent || '').trim().replace(/\s+/g, ' ');
        if (text) name += ` "${text.slice(0, 50)}${text.length > 50 ? '…' : ''}"`;
        const heading = document.evaluate(
            'preceding::*[self::h1 or self::h2 or self::h3][1]', el, null,
            XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
        if (heading) name += ` under "${heading.textContent.trim()}"`;
        return name;
    };

    // Images that did not load.
    const images = () => [...document.images]
        .filter((img) => !img.complete || img.naturalWidth === 0)
        .map((img) => img.getAttribute('src'));

    // Horizontal overflow: the menu bar or the page arrows reaching past
    // the window; in the text column (`main`), an element reaching outside
    // the column, an element cutting its content off, and (unless
    // `scrollOk` accepts the element) an element that hides part of its
    // content behind a sideways scroll bar. A container that overflows is
    // reported once, not with each of its children.
    const overflow = (scrollOk) => {
        const found = [];
        const page = document.scrollingElement;
        // mdBook clips its body container sideways, so the page itself
        // never scrolls: what matters is whether anything reaches past
        // the window (the menu bar, the arrows) or the text column.
        for (const el of document.querySelectorAll(
            '#mdbook-menu-bar *, nav.nav-wrapper *, nav.nav-wide-wrapper *')) {
            const box = el.getBoundingClientRect();
            if (box.width > 0 && (box.right > page.clientWidth + 1 || box.left < -1)) {
                found.push(`${describe(el)} reaches outside the ${page.clientWidth} px window`);
            }
        }
        const main = document.querySelector('main');
        if (!main) return found;
        const column = main.getBoundingClientRect();
        const walk = (parent) => {
            for (const el of parent.children) {
                const style = getComputedStyle(el);
                if (style.display === 'none') continue;
                const box = el.getBoundingClientRect();
                if (box.width > 0 && (box.right > column.right + 1
                    || box.left < column.left - 1)) {
                    found.push(`${describe(el)} reaches outside the `
                        + `${Math.round(column.width)} px text column `
                        + `(from ${Math.round(box.left - column.left)} px `
                        + `to ${Math.round(box.right - column.left)} px)`);
                    continue;
                }
                const hidden = el.scrollWidth - el.clientWidth;
                if (style.overflowX !== 'visible' && hidden > 1) {
                    const scrolls = style.overflowX === 'auto'
                        || style.overflowX === 'scroll';
                    if (!scrolls) {
                        found.push(`${describe(el)} cuts off ${hidden} px `
                            + 'of its content');
                    } else if (!scrollOk(el)) {
                        found.push(`${describe(el)} hides ${hidden} px of `
                            + `its ${el.scrollWidth} px behind a sideways `
                            + 'scroll bar');
                    }
                    continue;
                }
                walk(el);
            }
        };
        walk(main);
        return found;
    };

    // On a phone, code and tables may scroll sideways inside their own
    // box; nothing else may.
    const phoneScrollOk = (el) => el.matches('pre, pre *, .table-wrapper');

    // Colours as [r, g, b, a], from the `rgb()`/`rgba()` that
    // getComputedStyle gives for sRGB colours.
    const rgba = (css) => {
        const m = /^rgba?\(([^)]*)\)$/.exec(css.trim());
        if (!m) return null;
        const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
        return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const over = (top, under) => [0, 1, 2]
        .map((i) => top[i] * top[3] + under[i] * (1 - top[3]))
        .concat([1]);
    // What is painted behind an element: the backgrounds of it and its
    // ancestors, composited up to the first opaque one (the canvas is
    // white when no element paints).
    const backdrop = (el) => {
        const layers = [];
        for (let e = el; e; e = e.parentElement) {
            const c = rgba(getComputedStyle(e).backgroundColor);
            if (c && c[3] > 0) {
                layers.push(c);
                if (c[3] >= 1) break;
            }
        }
        let bg = [255, 255, 255, 1];
        for (const c of layers.reverse()) bg = over(c, bg);
        return bg;
    };
    // WCAG 2 relative luminance and contrast ratio.
    const luminance = (c) => {
        const f = (v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
        };
        return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
    };
    const ratio = (a, b) => {
        const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return (hi + 0.05) / (lo + 0.05);
    };
    // The contrast of an element's text (or of its `pseudo` element's)
    // with what is behind it, counting the colour's alpha and the opacity
    // of the element and its ancestors as if it faded the text alone (a
    // faded element's own background is taken at full strength: exact for
    // text faded over its page, as captions and file names are).
    const contrastOf = (el, pseudo) => {
        const style = getComputedStyle(el, pseudo);
        const fg = rgba(style.color);
        if (!fg) return { error: `cannot read the colour ${style.color}` };
        let alpha = fg[3];
        for (let e = el; e; e = e.parentElement) {
            alpha *= Number(getComputedStyle(e).opacity);
        }
        let bg = backdrop(el);
        if (pseudo) {
            alpha *= Number(style.opacity);
            const own = rgba(style.backgroundColor);
            if (own && own[3] > 0) bg = over(own, bg);
        }
        const text = over([fg[0], fg[1], fg[2], alpha], bg);
        return { ratio: ratio(text, bg) };
    };

    // What the contrast check looks at: the book's own marks around code
    // (captions, file names, the "does not compile" label drawn by
    // theme/listings.css), and the text of mdBook's themes that a page is
    // made of: prose (paragraphs, list items, table cells), links, inline
    // code and the base colour of code blocks. The colours of the
    // highlighted tokens inside code blocks are not measured.
    const KINDS = [
        ['caption', '.caption', null],
        ['file name', '.filename', null],
        ['"does not compile"', 'pre:has(> code.compile_fail)', '::before'],
        ['text', 'main p, main li, main td, main th', null],
        ['link', 'main a', null],
        ['inline code', 'main :not(pre) > code', null],
        ['code', 'main pre > code', null],
    ];
    const visible = (el) => el.getClientRects().length > 0;

    // The highlighting stylesheet each theme turns on (mdBook's book.js).
    const SHEETS = {
        light: 'mdbook-highlight-css',
        rust: 'mdbook-highlight-css',
        coal: 'mdbook-tomorrow-night-css',
        navy: 'mdbook-tomorrow-night-css',
        ayu: 'mdbook-ayu-highlight-css',
    };
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));

    // For each theme, chosen with its button in mdBook's theme menu and
    // rendered: each kind's count, lowest contrast and where.
    const contrast = async (themes) => {
        try {
            return await eachTheme(themes);
        } finally {
            // Back to mdBook's default ("Auto"), which also forgets the
            // choice, so that the next page opens in it.
            const auto = document.getElementById('mdbook-theme-default_theme');
            if (auto) {
                auto.click();
                await frame();
            }
        }
    };
    const eachTheme = async (themes) => {
        const out = [];
        for (const theme of themes) {
            const button = document.getElementById('mdbook-theme-' + theme);
            if (!button) {
                out.push({ theme, error: 'no button for this theme' });
                continue;
            }
            button.click();
            await frame();
            const sheets = Object.values(SHEETS)
                .filter((id, i, all) => all.indexOf(id) === i)
                .filter((id) => document.getElementById(id)
                    && !document.getElementById(id).disabled);
            if (!document.documentElement.classList.contains(theme)
                || sheets.length !== 1 || sheets[0] !== SHEETS[theme]) {
                out.push({
                    theme,
                    error: `the theme did not apply (class "${document.documentElement.className}", `
                        + `highlighting ${sheets.join(', ') || 'none'})`,
                });
                continue;
            }
            for (const [kind, selector, pseudo] of KINDS) {
                let count = 0, min = Infinity, where = '';
                const errors = [];
                for (const el of document.querySelectorAll(selector)) {
                    if (!visible(el)) continue;
                    if (pseudo) {
                        const content = getComputedStyle(el, pseudo).content;
                        if (!content.includes('does not compile')) {
                            errors.push(`${describe(el)} has no label`);
                            continue;
                        }
                    }
                    const c = contrastOf(el, pseudo);
                    if (c.error) {
                        errors.push(`${describe(el)}: ${c.error}`);
                        continue;
                    }
                    count += 1;
                    if (c.ratio < min) {
                        min = c.ratio;
                        where = describe(el);
                    }
                }
                out.push({ theme, kind, count, min: count ? min : null, where, errors });
            }
        }
        return out;
    };

    // The text of the section that `location.hash` names: its heading and
    // what follows up to the next heading of the same or a higher level;
    // with no fragment, the page.
    const sectionText = () => {
        const id = decodeURIComponent(location.hash.slice(1));
        if (!id) {
            const main = document.querySelector('main');
            return { found: true, text: main ? main.textContent : '' };
        }
        const target = document.getElementById(id);
        if (!target) return { found: false, text: '' };
        const level = (el) => /^H[1-6]$/.test(el.tagName) ? Number(el.tagName[1]) : 7;
        const start = target.closest('h1, h2, h3, h4, h5, h6') || target;
        let text = start.textContent;
        for (let el = start.nextElementSibling; el; el = el.nextElementSibling) {
            if (level(el) <= level(start)) break;
            text += ' ' + el.textContent;
        }
        return { found: true, text };
    };

    const headings = (selector) => [...document.querySelectorAll(selector)]
        .map((h) => h.textContent.trim());

    // Opens every `<details>` (the exercises' solutions), so that what it
    // holds is measured too.
    const openDetails = () => {
        for (const d of document.querySelectorAll('details')) d.open = true;
        return true;
    };

    return { images, overflow, phoneScrollOk, contrast, sectionText, headings, openDetails };
})();

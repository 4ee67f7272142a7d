// A table wider than the screen (office ledger, duplicates, reports on a phone): it scrolls inside its own
// box, never the page. The box can be scrolled with the keyboard (a named region in the tab order), shows a
// shadow on the side where more columns are, and a line above says "swipe sideways" while it overflows.
import { h, t } from './lib.js';

export function scrollBox(table, label, attrs = {}) {
  const hint = h('p', { class: 'scroll-hint no-print', hidden: true, 'data-testid': 'scroll-hint' }, '↔ ', t('office.scroll_hint'));
  const box = h('div', { class: 'scroll-x', tabindex: '0', role: 'region', 'aria-label': label, ...attrs }, table);
  const check = () => {
    const over = box.scrollWidth > box.clientWidth + 1;
    hint.hidden = !over;
    box.classList.toggle('more-right', over && box.scrollLeft + box.clientWidth < box.scrollWidth - 1);
    box.classList.toggle('more-left', over && box.scrollLeft > 1);
  };
  box.addEventListener('scroll', check, { passive: true });
  if (window.ResizeObserver) new ResizeObserver(check).observe(box);
  requestAnimationFrame(check);
  return h('div', { class: 'scroll-wrap' }, hint, box);
}

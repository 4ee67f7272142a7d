// Sync with the office (field hub, #/sync): where the office is, a big progress bar (dossiers and bytes,
// rate, time left), the last error in plain words, "Sync now", the weak-link settings, alarms with what to
// do, and the USB path (download a batch file, import the office's acknowledgement file).
import { h, t, txt, api, btn, icon, banner, flash, errText, can, fmtTime, fmtSize, state } from './lib.js';

const pct = (a, b) => (b > 0 ? Math.min(100, Math.round((100 * a) / b)) : 0);

function fmtSecs(s) {
  if (s == null) return t('sync.unknown');
  if (s < 60) return t('sync.seconds', { n: s });
  const m = Math.round(s / 60);
  return m < 60 ? t('sync.minutes', { n: m }) : t('sync.hours', { h: Math.floor(m / 60), m: m % 60 });
}

const plain = (e) => (e ? (state.lang === 'en' ? e.message_en : e.message_vi) || e.message_vi : '');

// What a person should do about an alarm, by its reason.
function alarmAdvice(reason) {
  const known = ['equivocation', 'envelope_signature', 'decrypt', 'payload_hash', 'blob_hash'];
  return t(known.includes(reason) ? `sync.alarm_do_${reason}` : 'sync.alarm_do_other');
}

function progressBox(p) {
  // New procedures: the home list reads the catalogue again.
  if ((p.last_packages || []).length) state.procedures = null;
  const phase = h('p', { class: 'sync-phase', 'data-testid': 'sync-phase' },
    p.running ? t(`sync.phase_${p.phase}`) : t('sync.phase_idle'));
  const bar = h('div', {
    class: 'sync-bar', role: 'progressbar', 'aria-label': t('sync.progress_label'),
    'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(pct(p.bytes_done, p.bytes_total)),
    'data-testid': 'sync-bar',
  }, h('span', { style: `width:${p.bytes_total ? pct(p.bytes_done, p.bytes_total) : (p.running ? 0 : 100)}%` }));
  return h('div', { class: 'card sync-progress', 'data-testid': 'sync-progress' }, phase, bar,
    h('dl', { class: 'sync-figures' },
      h('dt', {}, t('sync.dossiers')), h('dd', { 'data-testid': 'sync-dossiers' }, `${p.dossiers_done} / ${p.dossiers_total}`),
      h('dt', {}, t('sync.bytes')), h('dd', { 'data-testid': 'sync-bytes' }, `${fmtSize(p.bytes_done)} / ${fmtSize(p.bytes_total)}`),
      h('dt', {}, t('sync.rate')), h('dd', {}, p.rate_bps > 0 ? `${fmtSize(Math.round(p.rate_bps))}/s` : '—'),
      h('dt', {}, t('sync.time_left')), h('dd', {}, p.running ? fmtSecs(p.eta_secs) : '—'),
      h('dt', {}, t('sync.last_success')), h('dd', { 'data-testid': 'sync-last-success' }, p.last_success_at ? fmtTime(p.last_success_at) : t('sync.never')),
      h('dt', {}, t('sync.next_attempt')), h('dd', {}, p.next_attempt_at && !p.running ? fmtTime(p.next_attempt_at) : '—')),
    p.last_error ? banner('danger', t('sync.last_error'), plain(p.last_error), { 'data-testid': 'sync-error', role: 'alert' }) : null,
    p.warning ? banner('warn', null, plain(p.warning), { 'data-testid': 'sync-warning' }) : null,
    (p.last_packages || []).length ? banner('ok', t('sync.new_procedures'),
      p.last_packages.map((x) => t('sync.new_procedure', { title: txt(x.title), version: x.version })).join(' · '),
      { 'data-testid': 'sync-new-procedures' }) : null,
    (p.last_packages_refused || []).length ? banner('warn', t('sync.procedures_refused'), p.last_packages_refused.join(' · '),
      { 'data-testid': 'sync-procedures-refused' }) : null);
}

export async function syncView(app, _p, _q, ctx) {
  const load = () => api('GET', '/api/v1/upload/status');
  let s = await load();
  const alarms = (await api('GET', '/api/v1/upload/alarms')).alarms || [];
  const live = h('div', { 'aria-live': 'polite' }, progressBox(s.progress));

  const officeCard = s.office
    ? h('div', { class: 'card', 'data-testid': 'sync-office' }, icon('cloud'),
      h('strong', {}, s.office.name), h('p', { class: 'muted' }, s.progress.office_url
        ? t('sync.office_at', { url: s.progress.office_url, how: t(`sync.found_${s.progress.found_by || 'paired'}`) })
        : t('sync.office_not_seen')))
    : banner('warn', t('sync.no_office'), t('sync.no_office_hint'), { 'data-testid': 'sync-no-office' });
  const pairLink = s.office ? null : h('p', {}, h('a', { href: '#/pairing', class: 'btn big', 'data-testid': 'sync-pair-link' }, icon('qr'), h('span', {}, t('sync.go_pair'))));

  const c = s.counts;
  const counts = h('ul', { class: 'sync-counts', 'data-testid': 'sync-counts' });
  // The counts as the hub has them now (after a run, or an acknowledgement file imported by hand).
  const showCounts = (n) => counts.replaceChildren(
    h('li', {}, h('strong', { 'data-testid': 'count-acked' }, String(n.acked)), ' ', t('sync.count_acked')),
    h('li', {}, h('strong', { 'data-testid': 'count-waiting' }, String(n.waiting)), ' ', t('sync.count_waiting')),
    ...[n.not_yet_protected ? h('li', {}, h('strong', { 'data-testid': 'count-unprotected' }, String(n.not_yet_protected)), ' ', t('sync.count_unprotected')) : null,
      n.alarms ? h('li', { class: 'warn' }, h('strong', {}, String(n.alarms)), ' ', t('sync.count_alarms')) : null].filter(Boolean));
  showCounts(c);

  const runBtn = btn('reload', t('sync.run'), { class: 'btn primary big', 'data-testid': 'sync-run', disabled: !s.office || s.progress.running });
  runBtn.addEventListener('click', async () => {
    runBtn.disabled = true;
    try {
      const r = await api('POST', '/api/v1/upload/run');
      if (r.warning) flash(plain(r.warning), 'ok');
      else flash(r.started ? t('sync.started') : t('sync.already_running'), 'ok');
    } catch (e) { flash(errText(e)); runBtn.disabled = false; }
  });

  const st = s.settings;
  const settings = h('details', { class: 'card', 'data-testid': 'sync-settings' },
    h('summary', {}, t('sync.settings')),
    h('dl', {},
      h('dt', {}, t('sync.background')), h('dd', {}, st.background ? t('sync.every', { n: Math.round(st.interval_secs / 60) }) : t('sync.background_off')),
      h('dt', {}, t('sync.quiet_hours')), h('dd', { 'data-testid': 'sync-quiet' }, st.quiet_hours ? `${st.quiet_hours}${st.in_quiet_hours ? ' — ' + t('sync.quiet_now') : ''}` : t('sync.none')),
      h('dt', {}, t('sync.bandwidth')), h('dd', {}, st.bandwidth_kbps ? `${st.bandwidth_kbps} kbit/s` : t('sync.no_cap')),
      h('dt', {}, t('sync.concurrency')), h('dd', {}, String(st.concurrency)),
      h('dt', {}, t('sync.retention')), h('dd', {}, t('sync.retention_days', { n: st.retention_days }))),
    h('p', { class: 'muted small' }, t('sync.settings_hint')));

  const open = alarms.filter((a) => !a.resolved_at);
  const alarmList = h('section', { 'data-testid': 'sync-alarms' }, h('h2', {}, icon('warn'), t('sync.alarms')),
    open.length ? h('ul', { class: 'list' }, open.map((a) => {
      const li = h('li', { class: 'item', 'data-testid': 'sync-alarm' },
        h('div', { class: 'grow' }, h('strong', {}, t(`sync.reason_${a.reason}`) !== `sync.reason_${a.reason}` ? t(`sync.reason_${a.reason}`) : a.reason),
          h('p', {}, t('sync.alarm_dossier', { seq: a.seq, code: a.receipt_code || '—' })),
          h('p', { class: 'muted small' }, alarmAdvice(a.reason))));
      if (can('admin')) {
        const b = btn('ok', t('sync.resolve'), { class: 'btn small', 'data-testid': 'sync-resolve' });
        b.addEventListener('click', async () => {
          try { await api('POST', `/api/v1/upload/alarms/${a.id}/resolve`); li.remove(); flash(t('sync.resolved'), 'ok'); } catch (e) { flash(errText(e)); }
        });
        li.append(b);
      }
      return li;
    })) : h('p', { class: 'muted' }, t('sync.no_alarms')));

  const fileIn = h('input', { type: 'file', id: 'ack-file', accept: '.json,application/json', 'data-testid': 'sync-ack-input' });
  const ackForm = h('form', { class: 'form', 'data-testid': 'sync-ack-form' },
    h('label', { for: 'ack-file' }, t('sync.ack_file')), fileIn,
    h('button', { type: 'submit', class: 'btn', 'data-testid': 'sync-ack-submit' }, icon('ok'), h('span', {}, t('sync.import_ack'))));
  // The outcome beside the form (the top of the page is a screen away on a phone).
  const ackMsg = h('div', { role: 'status' });
  ackForm.append(ackMsg);
  ackForm.addEventListener('submit', async (ev) => {
    ackMsg.replaceChildren();
    ev.preventDefault();
    if (!fileIn.files.length) { ackMsg.replaceChildren(banner('warn', t('sync.choose_ack'), null)); fileIn.focus(); return; }
    const fd = new FormData();
    fd.append('file', fileIn.files[0]);
    try {
      const r = (await api('POST', '/api/v1/upload/ack-file', fd)).report;
      s = await load(); live.replaceChildren(progressBox(s.progress)); showCounts(s.counts);
      ackForm.reset();
      // The office's holdings in the file settled this hub's chain (restored or cloned card): what it did, and
      // that the next batch file carries those dossiers.
      const settled = r.settled && (r.settled.rechained || r.settled.placed)
        ? t('sync.ack_settled', { rechained: r.settled.rechained, placed: r.settled.placed }) : null;
      ackMsg.replaceChildren(banner('ok', t('sync.ack_imported', { n: r.newly_acked, total: r.acked_in_file }), settled, { 'data-testid': 'sync-ack-done' }));
    } catch (e) { ackMsg.replaceChildren(banner('warn', errText(e), null, { 'data-testid': 'sync-ack-error' })); }
  });
  const usb = h('section', { class: 'card', 'data-testid': 'sync-usb' }, h('h2', {}, icon('box'), t('sync.usb')),
    h('p', {}, t('sync.usb_hint')),
    c.waiting ? h('a', { class: 'btn', href: '/api/v1/upload/batch-file', download: '', 'data-testid': 'sync-batch-download' }, icon('doc'), h('span', {}, t('sync.download_batch')))
      : h('p', { class: 'muted' }, t('sync.nothing_waiting')),
    ackForm);

  ctx.show(h('section', { class: 'sync-page' }, h('h1', {}, icon('cloud'), h('span', {}, t('sync.title'))),
    officeCard, pairLink, counts, live, h('p', {}, runBtn), settings, alarmList, usb));

  // Live progress from the event stream; the counts are refreshed when a run ends.
  let es = null;
  let wasRunning = s.progress.running;
  let lastSuccess = s.progress.last_success_at;
  const stop = () => { if (es) es.close(); };
  window.addEventListener('hashchange', stop, { once: true });
  if (window.EventSource) {
    es = new EventSource('/api/v1/upload/events');
    es.addEventListener('progress', async (ev) => {
      if (!ctx.alive()) { stop(); return; }
      let p;
      try { p = JSON.parse(ev.data); } catch (_) { return; }
      live.replaceChildren(progressBox(p));
      runBtn.disabled = !s.office || p.running;
      // A short run may start and end between two frames: a new success time also means "done".
      if (!p.running && (wasRunning || p.last_success_at !== lastSuccess || p.last_error)) {
        try {
          const n = await load();
          showCounts(n.counts);
        } catch (_) { /* keep the last counts */ }
      }
      wasRunning = p.running;
      lastSuccess = p.last_success_at;
    });
  }
}

// Further languages and recorded audio prompts: the list of languages with progress (an admin adds one),
// one language's texts to translate and record (MediaRecorder; a file input where the microphone cannot be
// used), and audioButton(key), the one-tap player other screens put next to a label.
import {
  state, h, t, api, ApiError, errText, flash, btn, icon, banner, can, go, textKey, loadLanguages, langInfo, refreshCsrf, loadStyles,
} from './lib.js';

const enc = encodeURIComponent;
const audioUrl = (lang, key, sha) => `/api/v1/languages/${enc(lang)}/audio/${enc(key)}${sha ? `?v=${sha}` : ''}`;

// ---------- playing ----------
let player = null;
let playingBtn = null;

// The one shared <audio> element (one prompt at a time; a second tap stops).
function thePlayer() {
  if (!player) {
    player = h('audio', { id: 'ok-player', preload: 'none', 'data-testid': 'audio-player' });
    player.addEventListener('ended', () => setPlaying(null));
    player.addEventListener('pause', () => setPlaying(null));
    player.addEventListener('error', () => { if (playingBtn) flash(t('lang.play_failed')); setPlaying(null); });
    document.body.append(player);
  }
  return player;
}

function setPlaying(b) {
  if (playingBtn && playingBtn !== b) {
    playingBtn.classList.remove('playing');
    playingBtn.setAttribute('aria-pressed', 'false');
  }
  playingBtn = b;
  if (b) { b.classList.add('playing'); b.setAttribute('aria-pressed', 'true'); }
}

/** Plays `url`, marking `b` as playing; a tap on the playing button stops. */
export function playUrl(url, b) {
  const p = thePlayer();
  if (b && playingBtn === b) { p.pause(); return; }
  p.pause();
  p.src = url;
  p.currentTime = 0;
  setPlaying(b || null);
  p.play().catch((e) => { if (e && e.name !== 'AbortError') flash(t('lang.play_failed')); setPlaying(null); });
}

/**
 * A one-tap "listen" button for a text: `key` is a translation key, a hub text {key, vi, en} or a catalogue
 * Text. Plays the current language's recording, else the Vietnamese one; hidden when neither exists.
 */
export function audioButton(key, { label } = {}) {
  const k = typeof key === 'string' ? key : textKey(key);
  let lang = null;
  let sha = null;
  if (k && state.audio && state.audio[k]) { lang = state.lang; sha = state.audio[k]; } else if (k && state.audioVi && state.audioVi[k]) { lang = 'vi'; sha = state.audioVi[k]; }
  const b = btn('play', label || t('lang.listen'), {
    class: 'btn small audio-btn', 'aria-pressed': 'false', 'data-testid': 'audio-play', 'data-key': k || '',
    'data-audio-lang': lang || '', hidden: !lang,
    title: lang && lang !== state.lang ? t('lang.listen_vi') : null,
  });
  // A Vietnamese stand-in says so on the button itself (a tooltip is never seen on a phone).
  if (lang && lang !== state.lang) b.append(h('span', { class: 'badge', lang: 'vi', 'data-testid': 'audio-vi-mark' }, 'VI'));
  if (lang) b.addEventListener('click', () => playUrl(audioUrl(lang, k, sha), b));
  return b;
}

// A struck-through microphone: "nothing recorded", seen without reading.
function mutedMic() {
  const s = icon('mic');
  const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  p.setAttribute('d', 'M3 3l18 18');
  s.append(p);
  return s;
}

/** The visible "no recording yet" mark, where a listen button would be (never silence with no sign). */
export function noRecording(attrs = {}) {
  return h('span', { class: 'no-rec', 'data-testid': 'no-recording', ...attrs }, mutedMic(), h('span', {}, t('front.no_recording')));
}

/**
 * A villager's text: its listen button (audioButton), or the "no recording" mark when neither the chosen
 * language nor Vietnamese has a recording of it.
 */
export function listen(key, opts) {
  const b = audioButton(key, opts);
  return b.hidden ? noRecording({ 'data-key': typeof key === 'string' ? key : textKey(key) || '' }) : b;
}

/**
 * The "N texts not yet translated" note (renderMissing, lib.js) for a villager who reads no Vietnamese: when
 * the note itself is not in the chosen language, it is also said in signs (the language's own name → "Tiếng
 * Việt", how many); when it is recorded in that language, a listen button. `body` is the note's text box of
 * this rendering (a later rendering replaced it: nothing to do).
 */
export function noteExtras(body, n, name, signs) {
  if (!body.isConnected) return;
  if (signs) {
    body.prepend(h('span', { class: 'lang-note-pict', 'data-testid': 'lang-fallback-pict', 'aria-hidden': 'true' },
      icon('globe'), h('b', { lang: state.lang }, name), '→', h('b', { lang: 'vi' }, 'Tiếng Việt'), h('span', { class: 'badge' }, String(n))));
  }
  if (state.audio && state.audio['lang.fallback_note']) body.after(audioButton('lang.fallback_note'));
}

// ---------- list of languages ----------
function progress(l) {
  const pct = (n) => (l.total ? Math.floor((100 * n) / l.total) : 0);
  return h('span', { class: 'lang-progress' },
    l.built_in ? null : h('span', { class: 'badge', 'data-testid': 'lang-translated' },
      l.has_script ? t('lang.translated_n', { n: l.translated, total: l.total, pct: pct(l.translated) }) : t('lang.no_script')),
    h('span', { class: 'badge', 'data-testid': 'lang-recorded' }, t('lang.recorded_n', { n: l.recorded, total: l.total, pct: pct(l.recorded) })));
}

function fieldRow(id, label, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), hint ? h('p', { class: 'help', id: id + '-help' }, hint) : null, input);
}

export async function languagesView(app, _p, _q, ctx) {
  const r = await api('GET', '/api/v1/languages');
  const list = h('ul', { class: 'list', 'data-testid': 'languages-list' },
    (r.languages || []).map((l) => h('li', { class: 'item lang-item', 'data-testid': 'language-row', 'data-code': l.code },
      icon('globe'),
      h('span', { class: 'grow' },
        h('a', { href: `#/languages/${enc(l.code)}`, 'data-testid': 'language-link' },
          h('strong', { lang: l.code }, l.native_name), l.vi_name && l.vi_name !== l.native_name ? ` — ${l.vi_name}` : null),
        h('span', { class: 'muted small' }, ` (${l.code})`), h('br'), progress(l)))));
  let form = null;
  if (can('admin')) {
    form = h('form', { class: 'card form', 'data-testid': 'language-form', novalidate: true },
      h('h2', {}, icon('plus'), t('lang.add')),
      fieldRow('lang-code', t('lang.code'), h('input', { id: 'lang-code', name: 'code', required: true, autocomplete: 'off', autocapitalize: 'none', maxlength: '20', 'aria-describedby': 'lang-code-help', 'data-testid': 'lang-code' }), t('lang.code_hint')),
      fieldRow('lang-native', t('lang.native_name'), h('input', { id: 'lang-native', name: 'native_name', required: true, maxlength: '60', autocomplete: 'off', 'data-testid': 'lang-native' })),
      fieldRow('lang-vi', t('lang.vi_name'), h('input', { id: 'lang-vi', name: 'vi_name', required: true, maxlength: '60', autocomplete: 'off', 'data-testid': 'lang-vi' })),
      fieldRow('lang-en', t('lang.en_name'), h('input', { id: 'lang-en', name: 'en_name', maxlength: '60', autocomplete: 'off', 'data-testid': 'lang-en' })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'has_script', checked: true, 'data-testid': 'lang-script' }), h('span', {}, t('lang.has_script'))),
      h('p', { class: 'form-err', role: 'alert', hidden: true, 'data-testid': 'form-error' }),
      h('button', { type: 'submit', class: 'btn primary big', 'data-testid': 'lang-submit' }, icon('plus'), h('span', {}, t('lang.add_button'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const err = form.querySelector('.form-err');
      const body = {
        code: form.code.value.trim().toLowerCase(), native_name: form.native_name.value.normalize('NFC').trim(),
        vi_name: form.vi_name.value.normalize('NFC').trim(), en_name: form.en_name.value.normalize('NFC').trim(),
        has_script: form.has_script.checked,
      };
      if (!body.code || !body.native_name || !body.vi_name) { err.textContent = t('lang.fill_names'); err.hidden = false; return; }
      err.hidden = true;
      const b = form.querySelector('[type=submit]');
      b.disabled = true;
      try {
        const l = await api('POST', '/api/v1/languages', body);
        await loadLanguages();
        flash(t('lang.added', { name: l.native_name }), 'ok');
        go(`#/languages/${enc(l.code)}`);
      } catch (e) {
        err.textContent = errText(e); err.hidden = false;
      } finally { b.disabled = false; }
    });
  }
  ctx.show(h('section', {}, h('h1', {}, t('lang.title')), h('p', { class: 'lead' }, t('lang.intro')), list, form));
}

// ---------- one language: translate and record ----------
function groupName(g) {
  return g === 'ui' ? t('lang.group_ui') : g === 'catalogue' ? t('lang.group_catalogue') : t('lang.group_guide');
}

const PAGE = 40;

// The recordings the hub takes (recognised there from the bytes: hub/src/shared/lang/audio.rs), by type and
// by extension, since a phone's file picker often gives a generic type: exactly these, nothing else.
const AUDIO_ACCEPT = 'audio/mp4,audio/x-m4a,audio/aac,.m4a,audio/mpeg,audio/mp3,.mp3,audio/wav,audio/x-wav,audio/wave,.wav,audio/webm,.webm,audio/ogg,audio/opus,.ogg,.opus';

// The villagers' pages in the order they meet them (the hub sends each text's `page`; `team` is the rest).
const VILLAGER_PAGES = ['front', 'guides', 'predeclare', 'status', 'slip'];
const pageTitle = (p) => ({ front: t('lang.page_front'), guides: t('lang.page_guides'), predeclare: t('lang.page_predeclare'), status: t('lang.page_status'), slip: t('lang.page_slip') })[p];
// Seconds to record one short text, for the plan's time estimate.
const SECONDS_PER_TEXT = 5;

// Why recording in the page cannot work here, or null when it can.
function micProblem() {
  if (!window.isSecureContext) return 'insecure';
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) return 'unsupported';
  return null;
}

function recorderType() {
  for (const m of ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus', 'audio/mp4']) {
    if (window.MediaRecorder && MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(m)) return m;
  }
  return '';
}

async function uploadAudio(code, key, blob, retried = false) {
  // No token (the page opened offline) or a stale one: fetched again silently, as api() does (lib.js).
  if (!state.csrf && !retried) await refreshCsrf();
  const sent = state.csrf;
  let res;
  try {
    res = await fetch(`/api/v1/languages/${enc(code)}/audio/${enc(key)}`, {
      method: 'PUT', body: blob, credentials: 'same-origin', cache: 'no-store',
      headers: { Accept: 'application/json', 'Content-Type': blob.type || 'application/octet-stream', 'X-CSRF-Token': state.csrf || '' },
    });
  } catch (_) {
    throw new ApiError(0, { error: { code: 'offline' } });
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 403 && err.code === 'csrf' && !retried && (await refreshCsrf()) && state.csrf !== sent) {
      return uploadAudio(code, key, blob, true);
    }
    throw err;
  }
  return data;
}

export async function languageView(app, [code], query, ctx) {
  await loadStyles('lang');
  const r = await api('GET', `/api/v1/languages/${enc(code)}/keys`);
  const lang = r.language;
  const writes = !lang.built_in && lang.has_script;
  const keys = r.keys || [];
  const mic = micProblem();
  let micRefused = false;
  const micNote = h('div', { 'data-testid': 'mic-note' });
  const showMic = () => {
    micNote.replaceChildren();
    if (mic === 'insecure') micNote.append(banner('warn', t('lang.mic_insecure'), t('lang.mic_insecure_hint')));
    else if (mic === 'unsupported') micNote.append(banner('warn', t('lang.mic_unsupported'), t('lang.mic_file_hint')));
    else if (micRefused) micNote.append(banner('warn', t('lang.mic_refused'), t('lang.mic_refused_hint')));
  };
  showMic();

  // The one recording in progress (one microphone).
  let rec = null;

  const counts = h('p', { class: 'lead', 'data-testid': 'lang-counts' });
  // The procedures of the next session (none ticked: all): a catalogue or guide text counts for villagers
  // when one of them says it; UI texts are said whatever the procedure.
  const procIds = [...new Set(keys.flatMap((k) => k.procedures || []))];
  const procName = (id) => {
    const k = keys.find((x) => x.context === `${id}: title`);
    return k ? k.vi : id;
  };
  const chosen = new Set();
  const procSummary = h('summary', { 'data-testid': 'plan-procedures-summary' });
  const procBox = h('details', { class: 'plan-procedures', 'data-testid': 'plan-procedures' }, procSummary,
    h('p', { class: 'help' }, t('lang.plan_procedures_hint')),
    h('ul', { class: 'plain' }, procIds.map((id) => h('li', {}, h('label', { class: 'check' },
      h('input', { type: 'checkbox', value: id, 'data-testid': 'plan-procedure', onchange: (ev) => {
        if (ev.target.checked) chosen.add(id); else chosen.delete(id);
        updatePlan(); redraw();
      } }),
      h('span', { lang: 'vi' }, procName(id)))))));
  const forSession = (k) => k.audience === 'villager' && (!chosen.size || !(k.procedures || []).length || k.procedures.some((id) => chosen.has(id)));
  // The recording plan: the texts villagers meet, page by page, with how far the team is.
  const plan = h('section', { class: 'card lang-plan', 'data-testid': 'lang-plan', 'aria-labelledby': 'plan-title' });
  const bar = (n, total, label, testid) => h('div', { class: 'plan-bar' },
    h('span', { class: 'small' }, label),
    h('progress', { max: String(total || 1), value: String(n), 'aria-label': label, 'data-testid': testid, 'data-n': String(n), 'data-total': String(total) }));
  const updatePlan = () => {
    const villager = keys.filter(forSession);
    procSummary.textContent = `${t('lang.plan_procedures')}: ${chosen.size ? t('lang.plan_procedures_n', { n: chosen.size }) : t('lang.plan_procedures_all', { n: procIds.length })}`;
    const minutes = Math.ceil((villager.length * SECONDS_PER_TEXT) / 60);
    plan.replaceChildren(
      h('h2', { id: 'plan-title' }, icon('mic'), ' ', t('lang.plan_title')),
      procBox,
      h('p', { 'data-testid': 'plan-total', 'data-n': String(villager.length), 'data-minutes': String(minutes) }, t('lang.plan_total', { n: villager.length, min: minutes })),
      h('ol', { class: 'plan-pages' }, VILLAGER_PAGES.map((p) => {
        const ks = villager.filter((k) => k.page === p);
        const rec = ks.filter((k) => k.audio).length;
        const tr = ks.filter((k) => k.text).length;
        return h('li', { 'data-testid': 'plan-page', 'data-page': p, 'data-n': String(ks.length) },
          h('a', { href: `#/languages/${enc(lang.code)}`, onclick: (ev) => { ev.preventDefault(); const g = document.getElementById('page-' + p); if (g) g.scrollIntoView({ block: 'start' }); } },
            h('strong', {}, pageTitle(p))), ' ', h('span', { class: 'badge', 'data-testid': 'plan-page-n' }, t('lang.page_n', { n: ks.length })),
          h('div', { class: 'plan-bars' },
            bar(rec, ks.length, t('lang.plan_recorded', { n: rec, total: ks.length }), 'plan-recorded'),
            writes ? bar(tr, ks.length, t('lang.plan_translated', { n: tr, total: ks.length }), 'plan-translated') : null));
      })));
  };
  const updateCounts = () => {
    const tr = keys.filter((k) => k.text).length;
    const au = keys.filter((k) => k.audio).length;
    counts.replaceChildren(writes ? t('lang.translated_n', { n: tr, total: keys.length, pct: Math.floor((100 * tr) / keys.length) }) + ' · ' : '',
      t('lang.recorded_n', { n: au, total: keys.length, pct: Math.floor((100 * au) / keys.length) }));
    updatePlan();
  };
  updateCounts();

  function row(k) {
    const stateEl = h('span', { class: 'save-state', role: 'status', 'data-testid': 'key-state' });
    const say = (msg, kind = '') => { stateEl.textContent = msg; stateEl.className = `save-state ${kind}`; };
    const id = 'tr-' + k.key.replace(/[^a-zA-Z0-9_-]/g, '_');
    let box = null;
    let saveBtn = null;
    if (writes) {
      box = h('textarea', { id, rows: k.vi.length > 80 ? '3' : '2', lang: lang.code, dir: lang.direction, maxlength: '2000', 'data-testid': 'key-text' });
      box.value = k.text || '';
      saveBtn = btn('save', t('lang.save_text'), { class: 'btn small primary', 'data-testid': 'key-save' });
      box.addEventListener('input', () => say(t('lang.unsaved'), 'dirty'));
      saveBtn.addEventListener('click', async () => {
        saveBtn.disabled = true;
        say(t('lang.saving'));
        try {
          const res = await api('PUT', `/api/v1/languages/${enc(lang.code)}/strings/${enc(k.key)}`, { text: box.value.normalize('NFC') });
          k.text = res.text;
          box.value = res.text || '';
          say(res.text ? t('lang.saved') : t('lang.cleared'), 'ok');
          updateCounts();
        } catch (e) { say(errText(e), 'err'); } finally { saveBtn.disabled = false; }
      });
    }

    // Audio: record / stop, a pending recording to play and save (or discard), the saved one to play or delete.
    const audioBox = h('div', { class: 'row audio-row' });
    let pending = null;
    const file = h('input', { type: 'file', accept: AUDIO_ACCEPT, class: 'sr', id: id + '-file', 'data-testid': 'key-file' });
    const fileLabel = h('label', { for: id + '-file', class: 'btn small' }, icon('doc'), h('span', {}, t('lang.choose_file')));
    file.addEventListener('change', () => { if (file.files[0]) { pending = file.files[0]; file.value = ''; drawAudio(); say(t('lang.recorded_unsaved'), 'dirty'); } });

    async function startRec(b) {
      if (rec) { flash(t('lang.one_at_a_time')); return; }
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (e) {
        micRefused = true; showMic();
        say(t('lang.mic_refused'), 'err');
        return;
      }
      const type = recorderType();
      const mr = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      const chunks = [];
      mr.addEventListener('dataavailable', (ev) => { if (ev.data && ev.data.size) chunks.push(ev.data); });
      mr.addEventListener('stop', () => {
        stream.getTracks().forEach((tr) => tr.stop());
        pending = new Blob(chunks, { type: (mr.mimeType || type || 'audio/webm').split(';')[0] });
        rec = null;
        drawAudio();
        say(t('lang.recorded_unsaved'), 'dirty');
      });
      rec = { mr, key: k.key };
      mr.start();
      drawAudio();
      say(t('lang.recording'), 'rec');
      b.blur();
    }

    function drawAudio() {
      audioBox.replaceChildren();
      const recording = rec && rec.key === k.key;
      if (recording) {
        audioBox.append(btn('stop', t('lang.stop'), { class: 'btn small danger', 'data-testid': 'key-stop', onclick: () => rec.mr.stop() }));
        return;
      }
      if (!mic) audioBox.append(btn('mic', k.audio || pending ? t('lang.record_again') : t('lang.record'), { class: 'btn small', 'data-testid': 'key-record', onclick: (ev) => startRec(ev.currentTarget) }));
      audioBox.append(fileLabel, file);
      if (pending) {
        const url = URL.createObjectURL(pending);
        audioBox.append(
          btn('play', t('lang.play_new'), { class: 'btn small', 'data-testid': 'key-play-new', onclick: (ev) => playUrl(url, ev.currentTarget) }),
          btn('save', t('lang.save_audio'), { class: 'btn small primary', 'data-testid': 'key-save-audio', onclick: async (ev) => {
            const b = ev.currentTarget;
            b.disabled = true;
            say(t('lang.saving'));
            try {
              const info = await uploadAudio(lang.code, k.key, pending);
              k.audio = info.sha256;
              pending = null;
              if (state.lang === lang.code) state.audio[k.key] = info.sha256;
              if (lang.code === 'vi') state.audioVi[k.key] = info.sha256;
              say(t('lang.audio_saved'), 'ok');
              updateCounts();
              drawAudio();
            } catch (e) { say(errText(e), 'err'); b.disabled = false; }
          } }),
          btn('trash', t('lang.discard'), { class: 'btn small ghost', 'data-testid': 'key-discard', onclick: () => { pending = null; say(''); drawAudio(); } }));
      } else if (k.audio) {
        audioBox.append(
          btn('play', t('lang.play'), { class: 'btn small', 'data-testid': 'key-play', onclick: (ev) => playUrl(audioUrl(lang.code, k.key, k.audio), ev.currentTarget) }),
          btn('trash', t('lang.delete_audio'), { class: 'btn small danger', 'data-testid': 'key-delete-audio', onclick: async () => {
            try {
              await api('DELETE', `/api/v1/languages/${enc(lang.code)}/audio/${enc(k.key)}`);
              k.audio = null;
              if (state.lang === lang.code) delete state.audio[k.key];
              if (lang.code === 'vi') delete state.audioVi[k.key];
              say(t('lang.audio_deleted'), 'ok');
              updateCounts();
              drawAudio();
            } catch (e) { say(errText(e), 'err'); }
          } }));
      }
    }
    drawAudio();

    return h('li', { class: 'card key-row', 'data-testid': 'key-row', 'data-key': k.key },
      h('p', { class: 'muted small key-meta' }, h('span', { class: 'badge' }, groupName(k.group)), ' ', h('code', {}, k.key), k.context ? ` · ${k.context}` : ''),
      h(writes ? 'label' : 'p', writes ? { for: id, class: 'key-source' } : { class: 'key-source' },
        h('span', { lang: 'vi', 'data-testid': 'key-vi' }, k.vi),
        k.en && lang.code !== 'en' ? h('span', { lang: 'en', class: 'muted small key-en' }, k.en) : null),
      box, writes ? h('div', { class: 'row' }, saveBtn) : null,
      audioBox, stateEl);
  }

  // Filters: which texts, only those villagers hear (on by default), and a search.
  const filter = query.get('filter') || 'all';
  const group = query.get('group') || 'all';
  const select = (name, value, options, label) => h('div', { class: 'field' },
    h('label', { for: 'f-' + name }, label),
    h('select', { id: 'f-' + name, name, 'data-testid': 'filter-' + name, onchange: redraw },
      options.map(([v, l]) => h('option', { value: v, selected: v === value }, l))));
  const villagerOnly = h('input', { type: 'checkbox', name: 'villager', checked: query.get('villager') !== '0', 'data-testid': 'filter-villager', onchange: redraw });
  const filters = h('div', { class: 'row filters card' },
    h('label', { class: 'check' }, villagerOnly, h('span', {}, t('lang.filter_villager'))),
    select('which', filter, [['all', t('lang.filter_all')], ...(writes ? [['untranslated', t('lang.filter_untranslated')]] : []), ['noaudio', t('lang.filter_noaudio')]], t('lang.filter')),
    select('group', group, [['all', t('lang.group_all')], ['ui', t('lang.group_ui')], ['catalogue', t('lang.group_catalogue')], ['guide', t('lang.group_guide')]], t('lang.group')),
    h('div', { class: 'field grow' }, h('label', { for: 'f-q' }, t('lang.search')),
      h('input', { id: 'f-q', type: 'search', 'data-testid': 'filter-q', oninput: redraw })));
  // Villagers' pages, each under its heading with its count; then the office's and team's screens, folded.
  const listEl = h('div', { class: 'key-list', 'data-testid': 'key-list' });
  const teamList = h('ul', { class: 'list key-list' });
  const teamTitle = h('summary', { 'data-testid': 'team-summary' });
  const more = btn('plus', t('lang.show_more'), { class: 'btn', 'data-testid': 'show-more' });
  const teamBox = h('details', { class: 'team-texts', 'data-testid': 'team-texts' }, teamTitle, teamList, more);
  let shown = PAGE;
  let matching = [];
  more.addEventListener('click', () => { shown += PAGE; paintTeam(); });
  teamBox.addEventListener('toggle', () => paintTeam());
  const team = () => matching.filter((k) => k.audience !== 'villager');
  function paintTeam() {
    const ks = team();
    teamTitle.textContent = t('lang.page_team', { n: ks.length });
    // Rows made only when unfolded: a thousand editors the team rarely opens.
    teamList.replaceChildren(...(teamBox.open ? ks.slice(0, shown).map(row) : []));
    more.hidden = !teamBox.open || ks.length <= shown;
  }
  function paint() {
    listEl.replaceChildren(...VILLAGER_PAGES.map((p) => {
      const ks = matching.filter((k) => k.audience === 'villager' && k.page === p);
      if (!ks.length) return null;
      return h('section', { class: 'page-group', id: 'page-' + p, 'data-testid': 'page-group', 'data-page': p },
        h('h2', {}, pageTitle(p), ' ', h('span', { class: 'badge', 'data-testid': 'page-group-n' }, t('lang.page_n', { n: ks.length }))),
        h('ul', { class: 'list' }, ks.map(row)));
    }).filter(Boolean));
    teamBox.hidden = team().length === 0;
    paintTeam();
    empty.hidden = matching.length > 0;
  }
  const empty = h('p', { class: 'muted', hidden: true }, t('lang.nothing_left'));
  function redraw() {
    const which = filters.querySelector('[name=which]').value;
    const g = filters.querySelector('[name=group]').value;
    const q = filters.querySelector('#f-q').value.normalize('NFC').trim().toLowerCase();
    const only = villagerOnly.checked;
    matching = keys.filter((k) => (k.audience !== 'villager' ? !only : forSession(k)) &&
      (which === 'all' || (which === 'untranslated' ? !k.text : !k.audio)) &&
      (g === 'all' || k.group === g) &&
      (!q || k.key.toLowerCase().includes(q) || k.vi.toLowerCase().includes(q) || (k.en || '').toLowerCase().includes(q) || (k.text || '').toLowerCase().includes(q)));
    shown = PAGE;
    paint();
  }
  redraw();
  const info = langInfo(lang.code) || lang;
  ctx.show(h('section', {},
    h('p', {}, h('a', { href: '#/languages' }, icon('back'), t('lang.back'))),
    h('h1', {}, h('span', { lang: lang.code }, info.native_name), lang.vi_name && lang.vi_name !== lang.native_name ? ` — ${lang.vi_name}` : ''),
    counts,
    h('p', {}, writes ? t('lang.how_write') : (lang.built_in ? t('lang.how_builtin') : t('lang.how_noscript'))),
    plan, micNote, h('p', { class: 'muted small', 'data-testid': 'file-formats' }, t('lang.file_formats')), filters, listEl, teamBox, empty));
  // Stop the microphone when the user navigates away mid-recording.
  window.addEventListener('hashchange', () => { if (rec) try { rec.mr.stop(); } catch (_) { /* stopped */ } }, { once: true });
}

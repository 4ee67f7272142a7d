// The team's join page (#/join): large QR codes for the Wi-Fi and the app address, drawn by the hub, with
// their texts beside them for reading aloud; then the hub's certificate for team phones (once), with steps
// for Android and iOS, and the secure (HTTPS) address to open afterwards. Prints on one or two pages.
import { h, t, api, btn, banner, errText } from './lib.js';

function qr(src, alt, testid) {
  return h('img', { class: 'join-qr', src, alt, width: 320, height: 320, 'data-testid': testid });
}

function urlList(urls, testid) {
  if (!urls || urls.length < 2) return null;
  return h('details', { class: 'join-more no-print' },
    h('summary', {}, t('join.other_urls')),
    h('ul', { class: 'join-urls', 'data-testid': testid }, urls.slice(1).map((u) => h('li', { class: 'mono' }, u))));
}

// The fingerprint in groups of four bytes (each keeps its trailing colon, so the text is exactly the
// fingerprint), easier to read aloud and compare with a phone's screen; the login page shows it the same way.
function fpGroups(fp) {
  const pairs = String(fp).split(':');
  const out = [];
  for (let i = 0; i < pairs.length; i += 4) out.push(h('span', { class: 'fp-group' }, pairs.slice(i, i + 4).join(':') + (i + 4 < pairs.length ? ':' : '')));
  return out;
}

function steps(title, keys, testid) {
  return h('div', { class: 'join-steps', 'data-testid': testid },
    h('h3', {}, title),
    h('ol', {}, keys.map((k) => h('li', {}, k))));
}

export async function joinView(app, _params, _query, ctx) {
  let j;
  try {
    j = await api('GET', '/api/v1/join');
  } catch (e) {
    ctx.show(h('section', {}, h('h1', {}, t('join.title')), banner('warn', errText(e), null)));
    return;
  }
  const wifi = j.wifi
    ? h('div', { class: 'join-pair' },
      qr(j.wifi.png, t('join.wifi_alt', { ssid: j.wifi.ssid }), 'join-wifi-qr'),
      h('dl', { class: 'join-text', 'data-testid': 'join-wifi-text' },
        h('dt', {}, t('join.ssid')), h('dd', { class: 'big mono' }, j.wifi.ssid),
        h('dt', {}, t('join.password')),
        h('dd', { class: 'big mono' }, j.wifi.password != null ? j.wifi.password : t('join.open_network')),
        h('dt', {}, t('join.security')), h('dd', {}, j.wifi.security)))
    : banner('info', t('join.wifi_missing'), t('join.wifi_missing_hint'), { 'data-testid': 'join-wifi-missing' });

  const appCard = h('div', { class: 'join-pair' },
    qr(j.app_png, t('join.app_alt', { url: j.app_url }), 'join-app-qr'),
    h('div', { class: 'join-text' },
      h('p', { class: 'big mono join-url', 'data-testid': 'join-app-url' }, j.app_url),
      j.host_name ? h('p', {}, t('join.host_name'), ' ', h('span', { class: 'mono' }, j.host_name)) : null,
      urlList(j.urls && j.urls.http, 'join-http-urls')));

  let caCard;
  if (j.ca) {
    caCard = h('section', { class: 'card join-card join-ca' },
      h('h2', {}, t('join.ca_title')),
      h('p', {}, t('join.ca_why')),
      h('div', { class: 'join-pair' },
        qr(j.ca.png, t('join.ca_alt'), 'join-ca-qr'),
        h('div', { class: 'join-text' },
          h('p', { class: 'mono join-url', 'data-testid': 'join-ca-url' }, j.ca.download_url),
          h('p', { class: 'no-print' }, h('a', { class: 'btn', href: '/ca.crt', download: 'tram-ho-so-ca.crt', 'data-testid': 'join-ca-download' }, t('join.ca_download'))),
          h('p', {}, t('join.ca_fingerprint')),
          h('p', { class: 'mono fp', 'data-testid': 'join-ca-fingerprint' }, fpGroups(j.ca.sha256)),
          h('p', { class: 'hint', 'data-testid': 'join-ca-renewed' }, t('join.ca_renewed')))),
      h('div', { class: 'join-steps-pair' },
        steps(t('join.android_title'), [t('join.android_download'), t('join.android_settings'), t('join.android_install'), t('join.android_open')], 'join-android'),
        steps(t('join.ios_title'), [t('join.ios_download'), t('join.ios_profile'), t('join.ios_trust'), t('join.ios_open')], 'join-ios')),
      h('h3', {}, t('join.https_title')),
      h('div', { class: 'join-pair' },
        qr(j.app_https_png, t('join.https_alt', { url: j.app_url_https }), 'join-https-qr'),
        h('div', { class: 'join-text' },
          h('p', { class: 'big mono join-url', 'data-testid': 'join-https-url' }, j.app_url_https),
          urlList(j.urls && j.urls.https, 'join-https-urls'))));
  } else {
    caCard = h('section', { class: 'card join-card' }, h('h2', {}, t('join.ca_title')),
      banner('info', t('join.https_off'), t('join.https_off_hint'), { 'data-testid': 'join-https-off' }));
  }

  ctx.show(h('section', { class: 'join' },
    h('h1', {}, t('join.title')),
    h('p', {}, t('join.intro', { name: j.hub_name })),
    h('div', { class: 'actions' }, btn('print', t('join.print'), { onclick: () => window.print(), 'data-testid': 'join-print' })),
    h('section', { class: 'card join-card' }, h('h2', {}, t('join.wifi_title')), wifi),
    h('section', { class: 'card join-card' }, h('h2', {}, t('join.app_title')), appCard),
    caCard));
}

// The player page's script (served as /play/assets/player.js: the page's Content-Security-Policy runs no inline
// script). What to show comes from GET /playback/{playbackId} (Studio's playback info: meta.live, the HLS source)
// and from hls.js's errors. Every text shown is set with textContent, never parsed as HTML.
(function () {
  'use strict';

  var RETRY_FIRST_MS = 2000; // the first retry while a stream is offline or starting; then 1.5x, up to...
  var RETRY_MAX_MS = 15000;
  var WATCH_MS = 10000; // how often a playing page asks whether the stream is still live
  var MEDIA_RECOVERIES = 2; // hls.js media errors recovered in place before the player starts again
  var MESSAGES = {
    loading: 'Loading…',
    starting: 'The stream is starting…',
    playing: '',
    offline: 'This stream is offline. It will play here as soon as the broadcaster goes live.',
    ended: 'This stream has ended.',
    notfound: 'There is no stream with this playback ID.',
    unreachable: 'The video server cannot be reached. Retrying…',
    unsupported: 'This browser cannot play HLS video.',
  };

  var root = document.getElementById('player');
  var video = document.getElementById('video');
  var message = document.getElementById('message');
  var badge = document.getElementById('live-badge');
  var quality = document.getElementById('quality');
  var infoUrl = root.getAttribute('data-info');
  var workerPath = root.getAttribute('data-worker');

  var state = 'loading';
  var hls = null; // the hls.js instance while one is attached
  var attached = false; // hls.js or the browser's own HLS is playing the source
  var isLive = false; // the source is a live stream (a recording would not be)
  var retries = 0;
  var holdUntil = 0; // after a failure, do not start again before this time
  var recoveries = 0;
  var timer = null;
  var asked = 0; // the latest question to the API: an older answer, overtaken, is ignored

  function show(next) {
    state = next;
    root.setAttribute('data-state', next);
    message.textContent = MESSAGES[next] || '';
    message.hidden = next === 'playing';
    badge.hidden = !(next === 'playing' && isLive);
  }

  function schedule(fn, ms) {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(function () {
      timer = null;
      fn();
    }, ms);
  }

  function backoff() {
    var ms = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * Math.pow(1.5, retries));
    retries += 1;
    return Math.round(ms * (0.8 + 0.4 * Math.random())); // jitter: viewers of one stream do not retry in step
  }

  function resetQualities() {
    while (quality.options.length > 1) quality.remove(1);
    quality.options[0].textContent = 'Auto';
    quality.value = '-1';
    quality.disabled = true;
  }

  function stop() {
    if (hls) {
      hls.destroy();
      hls = null;
    }
    if (attached) {
      video.removeAttribute('src');
      video.load();
    }
    attached = false;
    resetQualities();
  }

  function levelLabel(level) {
    var size = level.height ? level.height + 'p' : Math.round(level.bitrate / 1000) + ' kbps';
    return level.name === 'source' ? 'Source (' + size + ')' : size;
  }

  function fillQualities() {
    resetQualities();
    var levels = hls.levels;
    var order = levels.map(function (_, i) { return i; });
    order.sort(function (a, b) {
      return (levels[b].height - levels[a].height) || (levels[b].bitrate - levels[a].bitrate);
    });
    order.forEach(function (i) {
      var option = document.createElement('option');
      option.value = String(i);
      option.textContent = levelLabel(levels[i]);
      quality.appendChild(option);
    });
    quality.disabled = levels.length < 2;
  }

  function showAutoLevel(index) {
    var level = hls && hls.levels[index];
    quality.options[0].textContent = hls && hls.autoLevelEnabled && level ? 'Auto (' + levelLabel(level) + ')' : 'Auto';
  }

  function failed() {
    // Something broke while starting or playing: ask the API what the stream is doing before trying again.
    if (timer !== null) clearTimeout(timer);
    timer = null;
    stop();
    holdUntil = Date.now() + backoff();
    check();
  }

  function onHlsError(_event, data) {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && recoveries < MEDIA_RECOVERIES) {
      recoveries += 1;
      hls.recoverMediaError();
      return;
    }
    failed();
  }

  function start(url) {
    stop();
    recoveries = 0;
    show('starting');
    if (window.Hls && Hls.isSupported()) {
      hls = new Hls({ workerPath: workerPath });
      hls.on(Hls.Events.MANIFEST_PARSED, function () {
        fillQualities();
        video.play().catch(function () { /* autoplay refused: the controls remain */ });
      });
      hls.on(Hls.Events.LEVEL_SWITCHED, function (_event, data) { showAutoLevel(data.level); });
      hls.on(Hls.Events.ERROR, onHlsError);
      hls.attachMedia(video);
      hls.loadSource(url);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = url; // Safari plays HLS itself and picks the rendition; the selector stays on Auto
      video.play().catch(function () { /* autoplay refused: the controls remain */ });
    } else {
      show('unsupported');
      return;
    }
    attached = true;
  }

  function hlsUrl(info) {
    var sources = (info && info.meta && info.meta.source) || [];
    for (var i = 0; i < sources.length; i++) {
      if (sources[i].type === 'html5/application/vnd.apple.mpegurl') return sources[i].url;
    }
    return null;
  }

  function check() {
    var mine = ++asked;
    fetch(infoUrl, { cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (mine !== asked) return null;
        if (response.status === 404) {
          return response.json().catch(function () { return null; }).then(function (body) {
            if (mine !== asked) return;
            stop();
            show(body && body.error && body.error.code === 'stream_ended' ? 'ended' : 'notfound');
          });
        }
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json().then(function (info) {
          if (mine === asked) follow(info);
        });
      })
      .catch(function () {
        if (mine !== asked) return;
        if (!attached) show('unreachable');
        schedule(check, backoff());
      });
  }

  function follow(info) {
    var url = hlsUrl(info);
    if (!url) {
      stop();
      show('notfound');
      return;
    }
    isLive = info.type === 'live';
    if (isLive && info.meta.live !== 1) {
      stop();
      show('offline');
      schedule(check, backoff());
      return;
    }
    if (!attached) {
      var wait = holdUntil - Date.now();
      if (wait > 0) {
        show('starting');
        schedule(check, wait);
        return;
      }
      start(url);
    }
    badge.hidden = !(state === 'playing' && isLive);
    schedule(check, WATCH_MS);
  }

  video.addEventListener('playing', function () {
    if (!attached) return;
    retries = 0;
    show('playing');
  });
  video.addEventListener('error', function () {
    if (attached && !hls) failed(); // the browser's own HLS failed; hls.js reports through onHlsError
  });
  quality.addEventListener('change', function () {
    if (!hls) return;
    hls.currentLevel = Number(quality.value); // -1: back to automatic switching
    showAutoLevel(hls.currentLevel);
  });

  // A handle for tests and the browser console: the hls.js instance and the page's state.
  window.lpPlayer = Object.freeze({
    get hls() { return hls; },
    get state() { return state; },
  });

  show('loading');
  check();
})();

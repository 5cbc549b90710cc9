// Audio-thread half of the talk page: the microphone, at the AudioContext's own rate (usually 48 kHz), becomes
// 16 kHz PCM16 in 20 ms frames (320 samples) posted to the page. A windowed-sinc low-pass runs before the rate
// change, so speech energy above 8 kHz does not fold back into the band the recogniser listens to.
"use strict";

var TARGET_RATE = 16000;
var FRAME = TARGET_RATE / 50;  // 20 ms
var TAPS = 63;

function lowpass(rate) {
  var cutoff = Math.min(0.45 * TARGET_RATE, 0.45 * rate) / rate;  // cycles per input sample
  var mid = (TAPS - 1) / 2, taps = new Float32Array(TAPS), sum = 0;
  for (var i = 0; i < TAPS; i++) {
    var x = i - mid;
    var sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    var hamming = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (TAPS - 1));
    taps[i] = sinc * hamming;
    sum += taps[i];
  }
  for (var j = 0; j < TAPS; j++) taps[j] /= sum;  // unity gain at DC
  return taps;
}

class MicDownsampler extends AudioWorkletProcessor {
  constructor() {
    super();
    this.taps = lowpass(sampleRate);
    this.ring = new Float32Array(TAPS * 2);  // each sample stored twice: the window is always contiguous
    this.head = 0;
    this.step = sampleRate / TARGET_RATE;  // input samples per output sample
    this.n = 0;       // index of the newest input sample
    this.t = 0;       // input-sample position of the next output sample
    this.prev = 0;    // filtered value at input n - 1
    this.frame = new Int16Array(FRAME);
    this.fill = 0;
  }

  process(inputs) {
    var channel = inputs[0] && inputs[0][0];
    if (!channel) return true;  // no input yet (or the track ended): keep the node alive
    var taps = this.taps, ring = this.ring;
    for (var k = 0; k < channel.length; k++) {
      ring[this.head] = ring[this.head + TAPS] = channel[k];
      this.head = (this.head + 1) % TAPS;
      var y = 0;
      for (var j = 0; j < TAPS; j++) y += taps[j] * ring[this.head + j];
      // Output samples falling between input n - 1 and n: linear interpolation of the filtered signal.
      while (this.t <= this.n) {
        var v = this.prev + (y - this.prev) * (this.t - this.n + 1);
        v = v < -1 ? -1 : v > 1 ? 1 : v;
        this.frame[this.fill++] = v < 0 ? v * 32768 : v * 32767;
        if (this.fill === FRAME) {
          this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
          this.frame = new Int16Array(FRAME);
          this.fill = 0;
        }
        this.t += this.step;
      }
      this.prev = y;
      this.n += 1;
    }
    return true;
  }
}

registerProcessor("mic-downsampler", MicDownsampler);

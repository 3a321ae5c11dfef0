// Pacing of say and dm frames, as the command-line client does it. The
// server limits each user with a token bucket and announces it in the
// welcome (msg_rate a second, msg_burst); past it, a message is refused as
// rate_limited. The page takes a token from a bucket of its own before each
// say or dm: the same rate, one token less of burst, the token held back
// absorbing the jitter between when a frame leaves and when the server
// counts it. A welcome without the fields means no limit and no pacing; a
// refusal for rate all the same empties the bucket (the server's is
// empty), and from a server that announced nothing gives a pace of one a
// second from then on.

/** A token bucket; now() is a clock in milliseconds. */
export class Pace {
  constructor(now = () => performance.now()) {
    this.now = now;
    this.rate = 0; // tokens a second; 0: no pacing
    this.size = 0;
    this.tokens = 0;
    this.at = 0; // when tokens was computed
    this.announced = ''; // the limit the bucket was made from
  }

  /** set applies a welcome's limit; the same limit as before keeps the tokens. */
  set(rate, burst) {
    if (!(rate > 0)) {
      this.rate = 0;
      this.announced = '';
      return;
    }
    const announced = `${rate}/${burst}`;
    if (announced === this.announced) return;
    this.announced = announced;
    this.fill(rate, Math.max(1, (burst | 0) - 1));
  }

  fill(rate, size) {
    this.rate = rate;
    this.size = size;
    this.tokens = size;
    this.at = this.now();
  }

  refill() {
    const t = this.now();
    this.tokens = Math.min(this.size, this.tokens + ((t - this.at) / 1000) * this.rate);
    this.at = t;
  }

  /** take takes a token and returns 0, or returns the milliseconds until there is one. */
  take() {
    if (this.rate <= 0) return 0;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /** refused empties the bucket after a refusal for rate. */
  refused() {
    if (this.rate <= 0) {
      this.announced = 'fallback';
      this.fill(1, 1);
    } else {
      this.refill();
    }
    this.tokens -= Math.max(0, Math.floor(this.tokens));
  }
}

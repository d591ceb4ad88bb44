//! Float raster helpers: exact-coverage rectangles, homographies, bicubic sampling and blurs.
//!
//! Images are worked on as `f32` grey levels (0 = black, 255 = white) and quantised only once at
//! the end, so blur, lighting and noise do not accumulate rounding steps a camera would not have.

/// A float grey image, row-major.
#[derive(Debug, Clone)]
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub px: Vec<f32>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, value: f32) -> Canvas {
        Canvas {
            width,
            height,
            px: vec![value; width * height],
        }
    }

    /// The value at integer coordinates, clamped to the edge.
    #[inline]
    pub fn at_clamped(&self, x: isize, y: isize) -> f32 {
        let xc = x.clamp(0, self.width as isize - 1) as usize;
        let yc = y.clamp(0, self.height as isize - 1) as usize;
        self.px.get(yc * self.width + xc).copied().unwrap_or(0.0)
    }

    /// Catmull-Rom bicubic sample at continuous coordinates, where pixel `(i, j)` covers
    /// `[i, i+1) x [j, j+1)` and its value sits at its centre.
    pub fn bicubic(&self, x: f32, y: f32) -> f32 {
        let fx = x - 0.5;
        let fy = y - 0.5;
        let ix = floor_i(fx);
        let iy = floor_i(fy);
        let wx = cubic_weights(fx - ix as f32);
        let wy = cubic_weights(fy - iy as f32);
        let (w, h) = (self.width as isize, self.height as isize);
        if ix >= 1 && iy >= 1 && ix + 2 < w && iy + 2 < h {
            // All sixteen taps are inside: index rows directly, the common case.
            let mut sum = 0.0;
            for (j, wyj) in wy.iter().enumerate() {
                let start = ((iy - 1 + j as isize) * w + ix - 1) as usize;
                if let Some(row) = self.px.get(start..start + 4) {
                    sum +=
                        wyj * (wx[0] * row[0] + wx[1] * row[1] + wx[2] * row[2] + wx[3] * row[3]);
                }
            }
            return sum;
        }
        let mut sum = 0.0;
        for (j, wyj) in wy.iter().enumerate() {
            let yy = iy - 1 + j as isize;
            let mut row = 0.0;
            for (i, wxi) in wx.iter().enumerate() {
                row += wxi * self.at_clamped(ix - 1 + i as isize, yy);
            }
            sum += wyj * row;
        }
        sum
    }

    /// Bilinear sample with the same pixel convention as [`Canvas::bicubic`].
    pub fn bilinear(&self, x: f32, y: f32) -> f32 {
        let fx = x - 0.5;
        let fy = y - 0.5;
        let ix = floor_i(fx);
        let iy = floor_i(fy);
        let (tx, ty) = (fx - ix as f32, fy - iy as f32);
        let (w, h) = (self.width as isize, self.height as isize);
        let (a, b, c, d) = if ix >= 0 && iy >= 0 && ix + 1 < w && iy + 1 < h {
            let i = (iy * w + ix) as usize;
            let j = i + self.width;
            match (self.px.get(i..i + 2), self.px.get(j..j + 2)) {
                (Some(t), Some(u)) => (t[0], t[1], u[0], u[1]),
                _ => (0.0, 0.0, 0.0, 0.0),
            }
        } else {
            (
                self.at_clamped(ix, iy),
                self.at_clamped(ix + 1, iy),
                self.at_clamped(ix, iy + 1),
                self.at_clamped(ix + 1, iy + 1),
            )
        };
        (a * (1.0 - tx) + b * tx) * (1.0 - ty) + (c * (1.0 - tx) + d * tx) * ty
    }

    /// Rounds and clamps to 8-bit grey.
    pub fn to_gray(&self) -> image::GrayImage {
        let data: Vec<u8> = self
            .px
            .iter()
            .map(|v| v.round().clamp(0.0, 255.0) as u8)
            .collect();
        image::GrayImage::from_raw(self.width as u32, self.height as u32, data)
            .unwrap_or_else(|| image::GrayImage::new(self.width as u32, self.height as u32))
    }
}

/// `floor` without the libm call that `f32::floor` becomes on baseline x86-64.
#[inline]
fn floor_i(v: f32) -> isize {
    let i = v as isize;
    if (i as f32) > v { i - 1 } else { i }
}

/// Catmull-Rom weights (Keys, a = -0.5) for the four taps around a fractional offset `t`.
#[inline]
fn cubic_weights(t: f32) -> [f32; 4] {
    let t2 = t * t;
    let t3 = t2 * t;
    [
        -0.5 * t3 + t2 - 0.5 * t,
        1.5 * t3 - 2.5 * t2 + 1.0,
        -1.5 * t3 + 2.0 * t2 + 0.5 * t,
        0.5 * t3 - 0.5 * t2,
    ]
}

/// Adds the exact area coverage of the rectangle `[x0, x1) x [y0, y1)` (in pixels) to `cov`.
///
/// Coverage is separable for an axis-aligned rectangle, so each pixel gets the product of its
/// horizontal and vertical overlap: exactly the area average a camera pixel would integrate.
pub fn add_rect_coverage(cov: &mut Canvas, x0: f32, y0: f32, x1: f32, y1: f32) {
    let (w, h) = (cov.width as f32, cov.height as f32);
    let (x0, x1) = (x0.max(0.0), x1.min(w));
    let (y0, y1) = (y0.max(0.0), y1.min(h));
    if x1 <= x0 || y1 <= y0 {
        return;
    }
    let (cx0, cx1) = (x0.floor() as usize, (x1.ceil() as usize).min(cov.width));
    let (cy0, cy1) = (y0.floor() as usize, (y1.ceil() as usize).min(cov.height));
    let overlap = |lo: f32, hi: f32, p: usize| (hi.min(p as f32 + 1.0) - lo.max(p as f32)).max(0.0);
    let xs: Vec<f32> = (cx0..cx1).map(|x| overlap(x0, x1, x)).collect();
    for y in cy0..cy1 {
        let oy = overlap(y0, y1, y);
        let row = y * cov.width;
        if let Some(dst) = cov.px.get_mut(row + cx0..row + cx1) {
            for (d, ox) in dst.iter_mut().zip(&xs) {
                *d += ox * oy;
            }
        }
    }
}

/// A plane projective transform, `(x, y) -> ((a x + b y + c) / (g x + h y + 1), ...)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography {
    m: [f64; 9],
}

impl Homography {
    /// The transform taking each `src[i]` to `dst[i]`, or `None` for degenerate quadrilaterals.
    pub fn from_points(src: &[(f64, f64); 4], dst: &[(f64, f64); 4]) -> Option<Homography> {
        // Eight equations in the eight unknowns a..h, solved by Gaussian elimination.
        let mut a = [[0.0f64; 9]; 8];
        for (i, (&(x, y), &(u, v))) in src.iter().zip(dst.iter()).enumerate() {
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        for col in 0..8 {
            let pivot = (col..8).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
            if a[pivot][col].abs() < 1e-12 {
                return None;
            }
            a.swap(col, pivot);
            let p = a[col];
            for (r, row) in a.iter_mut().enumerate() {
                if r != col {
                    let f = row[col] / p[col];
                    for k in col..9 {
                        row[k] -= f * p[k];
                    }
                }
            }
        }
        let mut m = [1.0; 9];
        for (i, row) in a.iter().enumerate() {
            m[i] = row[8] / row[i];
        }
        Some(Homography { m })
    }

    pub fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let m = &self.m;
        let w = m[6] * x + m[7] * y + m[8];
        let w = if w.abs() < 1e-12 { 1e-12 } else { w };
        (
            (m[0] * x + m[1] * y + m[2]) / w,
            (m[3] * x + m[4] * y + m[5]) / w,
        )
    }

    /// The inverse transform, or `None` when the matrix is singular.
    pub fn inverse(&self) -> Option<Homography> {
        let m = &self.m;
        let c00 = m[4] * m[8] - m[5] * m[7];
        let c01 = m[5] * m[6] - m[3] * m[8];
        let c02 = m[3] * m[7] - m[4] * m[6];
        let det = m[0] * c00 + m[1] * c01 + m[2] * c02;
        if det.abs() < 1e-12 {
            return None;
        }
        let inv = [
            c00,
            m[2] * m[7] - m[1] * m[8],
            m[1] * m[5] - m[2] * m[4],
            c01,
            m[0] * m[8] - m[2] * m[6],
            m[2] * m[3] - m[0] * m[5],
            c02,
            m[1] * m[6] - m[0] * m[7],
            m[0] * m[4] - m[1] * m[3],
        ];
        Some(Homography {
            m: inv.map(|v| v / det),
        })
    }
}

/// A normalised 1D Gaussian kernel with radius `ceil(3 sigma)`.
fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil().max(1.0) as isize;
    let mut k: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

/// Separable Gaussian blur with edge clamping; a no-op for tiny sigmas.
pub fn gaussian_blur(c: &mut Canvas, sigma: f32) {
    if sigma < 0.15 || c.width == 0 || c.height == 0 {
        return;
    }
    let k = gaussian_kernel(sigma);
    let r = k.len() / 2;
    let (w, h) = (c.width, c.height);
    // Horizontal pass through a padded row, so the inner loop has no edge tests.
    let mut tmp = vec![0.0f32; w * h];
    let mut padded = vec![0.0f32; w + 2 * r];
    for (src, dst) in c.px.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        let (first, last) = (
            src.first().copied().unwrap_or(0.0),
            src.last().copied().unwrap_or(0.0),
        );
        padded[..r].fill(first);
        padded[r..r + w].copy_from_slice(src);
        padded[r + w..].fill(last);
        for (x, d) in dst.iter_mut().enumerate() {
            *d = k
                .iter()
                .zip(&padded[x..x + k.len()])
                .map(|(a, b)| a * b)
                .sum();
        }
    }
    // Vertical pass: whole rows at a time, which keeps memory access sequential.
    c.px.fill(0.0);
    for y in 0..h {
        let out = &mut c.px[y * w..(y + 1) * w];
        for (i, kv) in k.iter().enumerate() {
            let yy = (y + i).saturating_sub(r).min(h - 1);
            let src = &tmp[yy * w..(yy + 1) * w];
            for (o, s) in out.iter_mut().zip(src) {
                *o += kv * s;
            }
        }
    }
}

/// Linear motion blur: the average of bilinear samples along a segment of `length` pixels.
///
/// Every pixel uses the same sample offsets, so each tap is a fixed-weight blend of four shifted
/// copies of an edge-padded image, with no per-pixel interpolation setup.
pub fn motion_blur(c: &mut Canvas, length: f32, angle_deg: f32) {
    if length < 1.0 || c.width == 0 || c.height == 0 {
        return;
    }
    let taps = (length.ceil() as usize * 2 + 1).max(3);
    let (sin, cos) = angle_deg.to_radians().sin_cos();
    let m = length.ceil() as usize + 2;
    let (w, h) = (c.width, c.height);
    let pw = w + 2 * m;
    let mut padded = vec![0.0f32; pw * (h + 2 * m)];
    for (py, row) in padded.chunks_exact_mut(pw).enumerate() {
        let y = py.saturating_sub(m).min(h - 1);
        let src = &c.px[y * w..(y + 1) * w];
        for (px, v) in row.iter_mut().enumerate() {
            *v = src[px.saturating_sub(m).min(w - 1)];
        }
    }
    c.px.fill(0.0);
    let weight = 1.0 / taps as f32;
    for i in 0..taps {
        let t = (i as f32 / (taps - 1) as f32 - 0.5) * length;
        let (ox, oy) = (t * cos, t * sin);
        let (ix, iy) = (floor_i(ox), floor_i(oy));
        let (fx, fy) = (ox - ix as f32, oy - iy as f32);
        let wts = [
            (0, 0, (1.0 - fx) * (1.0 - fy)),
            (1, 0, fx * (1.0 - fy)),
            (0, 1, (1.0 - fx) * fy),
            (1, 1, fx * fy),
        ];
        for (dx, dy, wt) in wts {
            let wt = wt * weight;
            if wt == 0.0 {
                continue;
            }
            let sx = (m as isize + ix + dx) as usize;
            let sy = (m as isize + iy + dy) as usize;
            for y in 0..h {
                let src = &padded[(y + sy) * pw + sx..(y + sy) * pw + sx + w];
                for (o, s) in c.px[y * w..(y + 1) * w].iter_mut().zip(src) {
                    *o += wt * s;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_is_exact_area() {
        let mut c = Canvas::new(4, 4, 0.0);
        add_rect_coverage(&mut c, 0.5, 0.0, 2.25, 1.0);
        assert_eq!(&c.px[..4], &[0.5, 1.0, 0.25, 0.0]);
        let total: f32 = c.px.iter().sum();
        assert!((total - 1.75).abs() < 1e-6);
    }

    #[test]
    fn homography_round_trips() {
        let src = [(0.0, 0.0), (100.0, 0.0), (100.0, 50.0), (0.0, 50.0)];
        let dst = [(10.0, 20.0), (120.0, 30.0), (115.0, 90.0), (5.0, 70.0)];
        let h = Homography::from_points(&src, &dst).expect("from_points");
        for (s, d) in src.iter().zip(&dst) {
            let p = h.apply(s.0, s.1);
            assert!((p.0 - d.0).abs() < 1e-6 && (p.1 - d.1).abs() < 1e-6);
        }
        let inv = h.inverse().expect("inverse");
        let p = inv.apply(dst[2].0, dst[2].1);
        assert!((p.0 - 100.0).abs() < 1e-6 && (p.1 - 50.0).abs() < 1e-6);
        assert!(Homography::from_points(&src, &[(0.0, 0.0); 4]).is_none());
    }

    #[test]
    fn samplers_reproduce_pixels_and_blur_keeps_mean() {
        let mut c = Canvas::new(8, 8, 0.0);
        for (i, v) in c.px.iter_mut().enumerate() {
            *v = (i % 8) as f32 * 10.0;
        }
        assert!((c.bicubic(3.5, 2.5) - 30.0).abs() < 1e-4);
        assert!((c.bilinear(4.0, 2.5) - 35.0).abs() < 1e-4);
        let mean = |c: &Canvas| c.px.iter().sum::<f32>() / c.px.len() as f32;
        let before = mean(&c);
        gaussian_blur(&mut c, 1.0);
        assert!((mean(&c) - before).abs() < 1.0);
        motion_blur(&mut c, 3.0, 30.0);
        assert!((mean(&c) - before).abs() < 2.0);
    }
}

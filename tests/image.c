/* image.c - a PNG reader for the tests (image.h): chunks, zlib inflate of
 * the IDAT stream, then the five scanline filters of the PNG
 * specification, section 9. Grey, grey+alpha, RGB and RGBA at 8 bits. */
#include "image.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "util.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* The Paeth predictor of section 9.4. */
static uint8_t paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

/* Undoes the filter of each scanline in place: raw holds height rows of
 * a filter byte then stride bytes. */
static int unfilter(uint8_t *raw, size_t height, size_t stride, size_t bpp)
{
	const uint8_t *prev = NULL;

	for (size_t y = 0; y < height; y++) {
		uint8_t *row = raw + y * (stride + 1);
		uint8_t type = row[0], *cur = row + 1;
		for (size_t x = 0; x < stride; x++) {
			int a = x >= bpp ? cur[x - bpp] : 0;
			int b = prev ? prev[x] : 0;
			int c = prev && x >= bpp ? prev[x - bpp] : 0;
			switch (type) {
			case 0: break;
			case 1: cur[x] = (uint8_t)(cur[x] + a); break;
			case 2: cur[x] = (uint8_t)(cur[x] + b); break;
			case 3: cur[x] = (uint8_t)(cur[x] + (a + b) / 2); break;
			case 4: cur[x] = (uint8_t)(cur[x] + paeth(a, b, c)); break;
			default: return -1;
			}
		}
		prev = cur;
	}
	return 0;
}

int sb_image_read_png(const char *path, struct sb_image *img,
		      const char **why)
{
	size_t n = 0;
	uint8_t *file = (uint8_t *)sb_test_read_file(path, &n);
	uint8_t *idat = NULL, *raw = NULL;
	size_t n_idat = 0, channels = 0;
	int rc = -1;

	*img = (struct sb_image){0};
	*why = "not a PNG file";
	if (!file || n < 8 || memcmp(file, "\x89PNG\r\n\x1a\n", 8))
		goto out;
	for (size_t i = 8; i + 12 <= n;) {
		uint32_t len = be32(file + i);
		const uint8_t *type = file + i + 4, *data = file + i + 8;
		if (len > n - i - 12)
			goto out;
		if (!memcmp(type, "IHDR", 4) && len >= 13) {
			static const size_t by_type[] = {1, 0, 3, 0, 2, 0, 4};
			img->width = be32(data);
			img->height = be32(data + 4);
			*why = "not 8-bit, non-interlaced grey or RGB";
			if (data[8] != 8 || data[9] > 6 || data[12] != 0 ||
			    !(channels = by_type[data[9]]))
				goto out;
		} else if (!memcmp(type, "IDAT", 4)) {
			idat = sb_realloc(idat, n_idat + len + 1);
			memcpy(idat + n_idat, data, len);
			n_idat += len;
		}
		i += 12 + (size_t)len;
	}
	*why = "no image data";
	if (!channels || !img->width || !img->height || !n_idat)
		goto out;
	size_t stride = img->width * channels;
	uLongf n_raw = (uLongf)((stride + 1) * img->height);
	raw = sb_malloc(n_raw);
	*why = "damaged image data";
	if (uncompress(raw, &n_raw, idat, (uLong)n_idat) != Z_OK ||
	    n_raw != (stride + 1) * img->height ||
	    unfilter(raw, img->height, stride, channels))
		goto out;
	img->rgb = sb_malloc(img->width * img->height * 3);
	for (size_t y = 0; y < img->height; y++)
		for (size_t x = 0; x < img->width; x++) {
			const uint8_t *s = raw + y * (stride + 1) + 1 +
					   x * channels;
			uint8_t *d = img->rgb + 3 * (y * img->width + x);
			bool grey = channels <= 2;
			d[0] = s[0];
			d[1] = grey ? s[0] : s[1];
			d[2] = grey ? s[0] : s[2];
		}
	rc = 0;
out:
	free(raw);
	free(idat);
	free(file);
	if (rc)
		sb_image_release(img);
	return rc;
}

void sb_image_release(struct sb_image *img)
{
	free(img->rgb);
	*img = (struct sb_image){0};
}

/* image.h - pictures for the tests that measure figures: a PNG file read
 * into 8-bit RGB (the PNG specification, ISO/IEC 15948: 8-bit samples,
 * no interlacing, which is what pngcairo and pdftoppm write). */
#ifndef SB_TEST_IMAGE_H
#define SB_TEST_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct sb_image {
	size_t width, height;
	uint8_t *rgb; /* width * height * 3, rows top to bottom */
};

/* Reads path; 0, or -1 with why set (a static string). */
int sb_image_read_png(const char *path, struct sb_image *img,
		      const char **why);
void sb_image_release(struct sb_image *img);

/* The pixel at x, y (from the top left). */
static inline const uint8_t *sb_image_at(const struct sb_image *img, size_t x,
					 size_t y)
{
	return img->rgb + 3 * (y * img->width + x);
}

#endif

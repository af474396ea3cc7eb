/* Frames to and from PNG through libpng's simplified API (RGB, 8 bits). */
#include <errno.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/display_host.h"

int vgt_display_png_write(const struct vgt_display_frame *f, const char *path)
{
    png_image img;
    uint8_t *rgb;
    int ok;

    if (!f->w || !f->h)
        return -EINVAL;
    rgb = malloc((size_t)f->w * f->h * 3);
    if (!rgb)
        return -ENOMEM;
    for (unsigned y = 0; y < f->h; y++)
        for (unsigned x = 0; x < f->w; x++) {
            uint32_t v = f->px[(size_t)y * f->pitch + x];
            uint8_t *o = rgb + ((size_t)y * f->w + x) * 3;

            o[0] = (uint8_t)(v >> 16);
            o[1] = (uint8_t)(v >> 8);
            o[2] = (uint8_t)v;
        }
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    img.width = f->w;
    img.height = f->h;
    img.format = PNG_FORMAT_RGB;
    ok = png_image_write_to_file(&img, path, 0, rgb, 0, NULL);
    free(rgb);
    if (!ok) {
        png_image_free(&img);
        return -EIO;
    }
    return 0;
}

int vgt_display_png_read(const char *path, struct vgt_display_frame *f)
{
    png_image img;
    uint8_t *rgb = NULL;
    uint32_t *px;
    int ret = -EIO;

    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        return -EIO;
    if (img.width > VGT_DISPLAY_MAX_W || img.height > VGT_DISPLAY_MAX_H) {
        ret = -EFBIG;
        goto free_img;
    }
    img.format = PNG_FORMAT_RGB;
    rgb = malloc(PNG_IMAGE_SIZE(img));
    px = malloc((size_t)img.width * img.height * sizeof(*px));
    if (!rgb || !px) {
        free(px);
        ret = -ENOMEM;
        goto free_img;
    }
    if (!png_image_finish_read(&img, NULL, rgb, 0, NULL)) {
        free(px);
        goto free_rgb;
    }
    for (size_t i = 0; i < (size_t)img.width * img.height; i++)
        px[i] = (uint32_t)rgb[3 * i] << 16 | (uint32_t)rgb[3 * i + 1] << 8 | rgb[3 * i + 2];
    vgt_display_frame_fini(f);
    f->px = px;
    f->w = f->pitch = img.width;
    f->h = img.height;
    f->cap = (size_t)img.width * img.height;
    ret = 0;
    goto free_rgb;
free_img:
    png_image_free(&img);
free_rgb:
    free(rgb);
    return ret;
}

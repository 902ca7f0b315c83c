/* Safety-zone decision logic; see zone_logic.h for the contract and README.md for the values and clauses. */
#include "zone_logic.h"

#include <stddef.h>

#define K_MM_PER_S 1600 /* ISO 13855: approach speed for d > 40 mm and for the parallel approach */

/* floor(1000 x cos) of the ray through a zone's corner farthest from the optical axis, by the zone's distance
 * from the axis in rows and columns (0 = the four central rows/columns): 45 x 45 degree field of view, 8 x 8
 * zones of 5.625 degrees. A zone's forward distance is at least its range times this (the safe, near side). */
static const uint16_t COS_MILLI[4][4] = {
    {990, 976, 952, 920}, {976, 962, 940, 908}, {952, 940, 919, 889}, {920, 908, 889, 862}};

void zone_default_config(zone_config_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    cfg->robot_stop_us = 300000;
    cfg->frame_period_us = 66667;
    cfg->sensor_frames = 2;
    cfg->poll_us = 1000;
    cfg->inference_us = 0; /* from the firmware's instruction count, filled in */
    cfg->output_us = 20000; /* Pilz PNOZ s4.1 datasheet: delay-on de-energisation with E-STOP, max. (README) */
    cfg->reaction_budget_us = 170000;
    cfg->intrusion_c_mm = 1200;
    cfg->z_mm = 0; /* measured on the sensor model, filled in */
    cfg->restricted_mm = 700;
    cfg->warning_margin_mm = 800;
    cfg->exit_margin_mm = 150;
    cfg->exit_frames = 3;
    cfg->presence_on_milli = 500;
    cfg->background_margin_mm = 150;
    cfg->max_invalid_zones = 2;
    cfg->max_ambient = 400;
    cfg->detect_range_mm = 3200;
    cfg->dark_signal_1m = 1242;  /* the sensor model: SIGNAL_K 69000 x 1.8 % */
    cfg->min_snr_milli = 5200;   /* the detection threshold 4 + 3 jitter sigmas (30 %) of the sensor model */
}

/* ceil(k_mm_per_s x t_us / 1e6) without overflow for t_us < 2^31. */
static int32_t speed_times_time(int32_t k, int32_t t_us)
{
    int64_t num = (int64_t)k * (int64_t)t_us;
    return (int32_t)((num + 999999) / 1000000);
}

zone_status_t zone_separation_mm(int32_t t_us, int32_t c_mm, int32_t z_mm, int32_t *s_mm)
{
    if (s_mm == NULL) {
        return ZONE_ERR_ARG;
    }
    if (t_us < 0 || c_mm < 0 || z_mm < 0 || c_mm > 10000 || z_mm > 10000) {
        return ZONE_ERR_CONFIG;
    }
    *s_mm = speed_times_time(K_MM_PER_S, t_us) + c_mm + z_mm;
    return ZONE_OK;
}

zone_status_t zone_limits(const zone_config_t *cfg, zone_limits_t *lim)
{
    if (cfg == NULL || lim == NULL) {
        return ZONE_ERR_ARG;
    }
    if (cfg->robot_stop_us < 0 || cfg->robot_stop_us > 10000000 || cfg->frame_period_us <= 0 ||
        cfg->frame_period_us > 1000000 || cfg->sensor_frames < 2 || cfg->sensor_frames > 16 || cfg->poll_us <= 0 ||
        cfg->poll_us > cfg->frame_period_us || cfg->inference_us < 0 || cfg->inference_us > 1000000 ||
        cfg->output_us < 0 || cfg->output_us > 1000000 || cfg->reaction_budget_us <= 0 ||
        cfg->restricted_mm < 0 || cfg->restricted_mm > 10000 || cfg->warning_margin_mm < 0 ||
        cfg->warning_margin_mm > 10000 || cfg->exit_margin_mm < 0 || cfg->exit_margin_mm > 10000 ||
        cfg->exit_frames < 1 || cfg->presence_on_milli <= 0 || cfg->background_margin_mm < 0 ||
        cfg->background_margin_mm > 10000 || cfg->max_invalid_zones < 0 || cfg->max_ambient < 0 ||
        cfg->detect_range_mm <= 0 || cfg->detect_range_mm > 10000 || cfg->dark_signal_1m <= 0 ||
        cfg->dark_signal_1m > 65535 || cfg->min_snr_milli < 0 || cfg->min_snr_milli > 100000) {
        return ZONE_ERR_CONFIG;
    }
    /* Sensor latency: an intrusion just after a frame's integration began is seen one frame later, read up to
     * one poll later; the watchdog may trip up to three polls after the frame that would have shown it. */
    lim->system_reaction_us = cfg->sensor_frames * cfg->frame_period_us + 3 * cfg->poll_us + cfg->inference_us +
                              cfg->output_us;
    lim->total_us = cfg->robot_stop_us + lim->system_reaction_us;
    zone_status_t st = zone_separation_mm(lim->total_us, cfg->intrusion_c_mm, cfg->z_mm, &lim->stop_mm);
    if (st != ZONE_OK) {
        return st;
    }
    lim->field_edge_mm = cfg->restricted_mm + lim->stop_mm;
    lim->warning_mm = lim->field_edge_mm + cfg->warning_margin_mm;
    lim->watchdog_us = (cfg->sensor_frames - 1) * cfg->frame_period_us + cfg->poll_us;
    if (lim->system_reaction_us > cfg->reaction_budget_us) {
        return ZONE_ERR_BUDGET;
    }
    /* The whole protective field must lie where the dark test piece is still detected. */
    if (lim->field_edge_mm > cfg->detect_range_mm) {
        return ZONE_ERR_RANGE;
    }
    return ZONE_OK;
}

static int32_t is_valid_return(uint8_t status)
{
    return status == ZONE_TS_VALID || status == ZONE_TS_NO_WRAP_CHECK || status == ZONE_TS_LARGE_PULSE;
}

zone_status_t zone_teach_begin(zone_background_t *bg)
{
    if (bg == NULL) {
        return ZONE_ERR_ARG;
    }
    for (int32_t z = 0; z < ZONE_COUNT; z++) {
        bg->range_mm[z] = 0;
    }
    bg->frames = 0;
    return ZONE_OK;
}

zone_status_t zone_teach_frame(zone_background_t *bg, const zone_frame_t *frame)
{
    if (bg == NULL || frame == NULL) {
        return ZONE_ERR_ARG;
    }
    for (int32_t z = 0; z < ZONE_COUNT; z++) {
        uint16_t r = frame->range_mm[z];
        if (is_valid_return(frame->status[z]) && r > 0 && (bg->range_mm[z] == 0 || r < bg->range_mm[z])) {
            bg->range_mm[z] = r;
        }
    }
    bg->frames++;
    return ZONE_OK;
}

zone_status_t zone_teach_end(const zone_background_t *bg)
{
    if (bg == NULL) {
        return ZONE_ERR_ARG;
    }
    return bg->frames > 0 ? ZONE_OK : ZONE_ERR_TEACH;
}

zone_status_t zone_init(zone_state_t *st, uint32_t now_us)
{
    if (st == NULL) {
        return ZONE_ERR_ARG;
    }
    st->latched = 1;
    st->fault = ZONE_OK;
    st->soft = ZONE_FREE;
    st->streak = 0;
    st->have_frame = 0;
    st->last_counter = 0;
    st->last_new_us = now_us;
    st->reset_prev = 0;
    st->reset_pending = 0;
    return ZONE_OK;
}

static uint32_t zone_cos_milli(int32_t zone)
{
    int32_t r = zone / 8, c = zone % 8;
    int32_t dr = r < 4 ? 3 - r : r - 4, dc = c < 4 ? 3 - c : c - 4;
    return COS_MILLI[dr][dc];
}

int32_t zone_forward_mm(int32_t zone, int32_t range_mm)
{
    if (zone < 0 || zone >= ZONE_COUNT || range_mm < 0 || range_mm > 65535) {
        return 0;
    }
    /* 65535 x 1000 fits 32 bits: one hardware multiply and divide on a Cortex-M4 */
    return (int32_t)(((uint32_t)range_mm * zone_cos_milli(zone)) / 1000u);
}

int32_t zone_dark_signal(int32_t zone, int32_t range_mm, int32_t dark_signal_1m)
{
    if (zone < 0 || zone >= ZONE_COUNT || range_mm <= 0 || dark_signal_1m <= 0 || dark_signal_1m > 65535) {
        return 0;
    }
    /* signal x cos(incidence) / r^2 in 32-bit steps (no 64-bit division on the target): dark x cos <= 6.5e7 */
    uint32_t q = ((uint32_t)dark_signal_1m * zone_cos_milli(zone)) / (uint32_t)range_mm;
    if (q > 4294967u) {
        return 65535;
    }
    uint32_t s = q * 1000u / (uint32_t)range_mm;
    return s > 65535u ? 65535 : (int32_t)s;
}

/* signal / sqrt(signal + ambient + 1) >= min_snr_milli / 1000, squared and in integers (64-bit multiplies only). */
static int32_t snr_reaches(int32_t signal, int32_t ambient, int32_t min_snr_milli)
{
    uint64_t lhs = (uint64_t)signal * (uint64_t)signal * 1000000u;
    uint64_t rhs = (uint64_t)min_snr_milli * (uint64_t)min_snr_milli * (uint64_t)(signal + ambient + 1);
    return lhs >= rhs;
}

int32_t zone_dequant_milli(int8_t q, int32_t zero_point, int32_t scale_micro)
{
    int64_t v = ((int64_t)q - zero_point) * (int64_t)scale_micro;
    return (int32_t)(v / 1000); /* C99 division truncates toward zero */
}

int8_t zone_quantize_mm(uint16_t mm, int32_t mult, int32_t shift, int32_t zero_point)
{
    if (shift < 1 || shift > 40 || mult < 0) {
        return (int8_t)-128;
    }
    int64_t q = (((int64_t)mm * mult + ((int64_t)1 << (shift - 1))) >> shift) + zero_point;
    return (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
}

uint16_t zone_model_range(const zone_frame_t *frame, int32_t zone)
{
    if (frame == NULL || zone < 0 || zone >= ZONE_COUNT || !is_valid_return(frame->status[zone])) {
        return 0;
    }
    return frame->range_mm[zone];
}

int32_t zone_float_milli(float x)
{
    float v = x * 1000.0f;
    if (!(v == v) || v > 3.4e38f || v < -3.4e38f) {
        return ZONE_MILLI_INVALID; /* NaN or +-Inf: not a model output the logic may use */
    }
    if (v >= 2147483520.0f) { /* the largest float below 2^31 */
        return INT32_MAX;
    }
    if (v <= -2147483520.0f) {
        return INT32_MIN + 1; /* saturated, but distinct from ZONE_MILLI_INVALID */
    }
    return (int32_t)v;
}

/* What one new frame shows: objects in the protective field, nearer than the background up to a given edge,
 * and sensor faults among the zones that look into the field. */
typedef struct {
    int32_t intrusion;
    int32_t warn_zone;  /* an object between the field edge and the warning edge */
    int32_t leave_zone; /* an object up to the warning edge + exit margin */
    int32_t invalid;
    int32_t blind; /* zones looking into the field that cannot show the dark test piece (ambient light) */
} frame_view_t;

static frame_view_t scan(const zone_config_t *cfg, const zone_limits_t *lim, const zone_background_t *bg,
                         const zone_frame_t *frame)
{
    frame_view_t v = {0, 0, 0, 0, 0};
    for (int32_t z = 0; z < ZONE_COUNT; z++) {
        int32_t taught = bg->range_mm[z];
        /* A zone whose background is the robot itself (within its restricted space) looks at no field: its
         * faults do not count, but an object in front of the robot still does. */
        int32_t looks = taught == 0 || zone_forward_mm(z, taught) > cfg->restricted_mm;
        uint8_t s = frame->status[z];
        int32_t ambient = frame->ambient[z];
        if (looks) {
            /* "No target" and the background prove free space only if the dark test piece would have been seen
             * at the farthest point of the field this zone sees: the field edge along its outermost ray, or
             * the taught background if nearer. */
            int32_t far_mm = (int32_t)(((uint32_t)lim->field_edge_mm * 1000u) / zone_cos_milli(z));
            if (taught > 0 && taught < far_mm) {
                far_mm = taught;
            }
            if (ambient > cfg->max_ambient ||
                !snr_reaches(zone_dark_signal(z, far_mm, cfg->dark_signal_1m), ambient, cfg->min_snr_milli)) {
                v.blind++;
            }
        }
        if (s == ZONE_TS_NO_TARGET) {
            continue; /* free space */
        }
        if (!is_valid_return(s)) {
            v.invalid += looks;
            continue;
        }
        int32_t r = frame->range_mm[z];
        int32_t fwd = zone_forward_mm(z, r);
        int32_t signal = frame->signal[z];
        /* the weakest return of the dark test piece at a true range up to Z beyond the reported one */
        if (fwd <= lim->warning_mm && (signal < zone_dark_signal(z, r + cfg->z_mm, cfg->dark_signal_1m) ||
                                       !snr_reaches(signal, ambient, cfg->min_snr_milli))) {
            v.intrusion = 1; /* too weak for its range to be believed, background or not: fail safe */
            v.leave_zone = 1;
            continue;
        }
        if (taught > 0 && r + cfg->background_margin_mm >= taught) {
            continue; /* the background (or not clearly nearer) */
        }
        if (fwd <= lim->field_edge_mm) {
            v.intrusion = 1;
        } else if (fwd <= lim->warning_mm) {
            v.warn_zone = 1;
        }
        if (fwd <= lim->warning_mm + cfg->exit_margin_mm) {
            v.leave_zone = 1;
        }
    }
    return v;
}

zone_status_t zone_update(zone_state_t *st, const zone_config_t *cfg, const zone_limits_t *lim,
                          const zone_background_t *bg, const zone_frame_t *frame, uint32_t now_us,
                          int32_t inference_status, int32_t presence_milli, int32_t distance_mm,
                          int32_t reset_input, zone_t *zone)
{
    if (st == NULL || cfg == NULL || lim == NULL || bg == NULL || frame == NULL || zone == NULL) {
        return ZONE_ERR_ARG;
    }
    zone_status_t fault = ZONE_OK;
    if (st->reset_prev && !reset_input) {
        st->reset_pending = 1; /* a reset acts on the button's release, judged on the next new frame */
    }
    st->reset_prev = reset_input != 0;
    int32_t fresh = frame->updated && (!st->have_frame || frame->counter != st->last_counter);
    int32_t clear = 0;
    if (fresh) {
        st->have_frame = 1;
        st->last_counter = frame->counter;
        st->last_new_us = now_us;
        frame_view_t v = scan(cfg, lim, bg, frame);
        if (v.blind > 0 || v.invalid > cfg->max_invalid_zones) {
            fault = ZONE_FAULT_SENSOR;
        } else if (inference_status != 0 || presence_milli == ZONE_MILLI_INVALID ||
                   distance_mm == ZONE_MILLI_INVALID) {
            fault = ZONE_FAULT_INFERENCE;
        }
        if (fault != ZONE_OK || v.intrusion) {
            if (!st->latched) {
                st->fault = fault;
            }
            st->latched = 1;
        } else {
            clear = 1;
            /* Warning: geometry beyond the field, or the classifier; neither can stop or release a stop. */
            int32_t seen = presence_milli >= cfg->presence_on_milli;
            int32_t enter = v.warn_zone || (seen && distance_mm <= lim->warning_mm);
            int32_t stay = v.leave_zone || (seen && distance_mm <= lim->warning_mm + cfg->exit_margin_mm);
            if (enter) {
                st->soft = ZONE_WARNING;
                st->streak = 0;
            } else if (st->soft == ZONE_WARNING && !stay) {
                if (++st->streak >= cfg->exit_frames) {
                    st->soft = ZONE_FREE;
                    st->streak = 0;
                }
            } else {
                st->streak = 0;
            }
        }
    } else if ((uint32_t)(now_us - st->last_new_us) > (uint32_t)lim->watchdog_us) {
        fault = ZONE_FAULT_WATCHDOG;
        if (!st->latched) {
            st->fault = fault;
        }
        st->latched = 1;
    }
    if (fresh && st->reset_pending) {
        if (st->latched && clear) {
            st->latched = 0;
            st->fault = ZONE_OK;
        }
        st->reset_pending = 0; /* refused unless that frame was clear: press again */
    }
    *zone = st->latched ? ZONE_STOP : st->soft;
    return fault;
}

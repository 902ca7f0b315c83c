/* Safety-zone decision logic for a time-of-flight person detector next to a robot cell.
 *
 * C99, no allocation, no global state: the caller owns the configuration, the derived limits and the
 * per-sensor state. Every function that can fail returns a zone_status_t (0 = OK). The Python mirror in
 * examples/safety_zones/zones.py computes exactly the same integers; tests compare the two frame by frame.
 *
 * Minimum separation distance after ISO 13855 (the formula, not the standard's text):
 *     S = K x T + C
 *   T  overall stopping performance: robot stopping time + sensor latency + inference + output switching
 *   K  approach speed: 2000 mm/s; when that gives S > 500 mm, recompute with 1600 mm/s and keep S >= 500 mm;
 *      when it gives S <= 500 mm keep S >= 100 mm
 *   C  intrusion distance from the detection capability d: 8 x (d - 14) mm for d <= 40 mm (finger/hand
 *      detection), 850 mm for coarser detection (body detection, what an 8 x 8 ToF sensor gives)
 * All times are integer microseconds, distances integer millimetres; K x T is rounded up (the safe side).
 * The protective-stop edge is S plus the detector's distance tolerance (tolerance_mm), the way a protective
 * device's measurement tolerance is added to its protective field; the warning edge lies warning_margin_mm
 * beyond it.
 */
#ifndef ZONE_LOGIC_H
#define ZONE_LOGIC_H

#include <stdint.h>

typedef enum {
    ZONE_FREE = 0,     /* nobody close: the robot runs at full speed */
    ZONE_WARNING = 1,  /* someone approaching: slow down, warn */
    ZONE_STOP = 2      /* someone within the separation distance: protective stop */
} zone_t;

typedef enum {
    ZONE_OK = 0,
    ZONE_FRAME_FAULT = 1,     /* zone_update: too few valid sensor zones; the zone was forced to STOP */
    ZONE_ERR_ARG = -1,        /* a NULL pointer */
    ZONE_ERR_CONFIG = -2,     /* a configuration value out of its range */
    ZONE_ERR_BUDGET = -3,     /* sensor latency + inference + output exceed the reaction-time budget */
    ZONE_ERR_RANGE = -4       /* the zones reach beyond what the sensor can see */
} zone_status_t;

typedef struct {
    int32_t robot_stop_us;           /* robot stopping time, from the robot maker's stop-time data */
    int32_t frame_period_us;         /* sensor frame period (66667 at 15 Hz) */
    int32_t sensor_frames;           /* frame periods of sensor latency counted in T (2: worst-case phase) */
    int32_t inference_us;            /* model inference time on the target */
    int32_t output_us;               /* decision logic + safety output switching */
    int32_t reaction_budget_us;      /* limit for sensor latency + inference + output */
    int32_t detection_capability_mm; /* d of the sensing function; > 40 selects C = 850 mm */
    int32_t warning_margin_mm;       /* warning zone = stop zone + this */
    int32_t exit_margin_mm;          /* hysteresis: leave a zone only beyond its edge + this */
    int32_t exit_frames;             /* hysteresis: ... for this many consecutive frames */
    int32_t presence_on_milli;       /* person detected when presence >= this (thousandths) */
    int32_t min_valid_zones;         /* fewer valid sensor zones than this: fault, forced STOP */
    int32_t max_range_mm;            /* the sensor's reliable range */
    int32_t tolerance_mm;            /* the detector's distance tolerance: the stop edge is S + this */
} zone_config_t;

typedef struct {
    int32_t system_reaction_us;  /* sensor_frames x frame_period + inference + output */
    int32_t total_us;            /* T = robot_stop + system_reaction */
    int32_t intrusion_mm;        /* C */
    int32_t stop_mm;             /* S, the minimum separation distance */
    int32_t warning_mm;          /* the warning zone edge: stop edge + warning margin */
    int32_t stop_edge_mm;        /* the protective-stop zone edge: S + the detector's tolerance */
} zone_limits_t;

typedef struct {
    zone_t zone;     /* the decision in force */
    int32_t streak;  /* consecutive frames that allowed a less severe zone */
    zone_t pending;  /* the most severe zone seen during that streak */
} zone_state_t;

/* The defaults of the example cell (robot stop 300 ms, 15 Hz sensor, 150 ms reaction budget, ...). */
void zone_default_config(zone_config_t *cfg);

/* ISO 13855 separation distance S (mm) for overall stopping performance t_us and detection capability d_mm. */
zone_status_t zone_separation_mm(int32_t t_us, int32_t d_mm, int32_t *s_mm);

/* The limits of a configuration; ZONE_ERR_BUDGET / ZONE_ERR_RANGE (limits still filled in) when the
 * reaction-time budget or the sensor range is exceeded: the cell must not run. */
zone_status_t zone_limits(const zone_config_t *cfg, zone_limits_t *lim);

/* Start in STOP: a restart needs exit_frames frames that show the cell clear. */
zone_status_t zone_reset(zone_state_t *st);

/* A model output (int8, with its quantization: real = (q - zero_point) x scale, scale given in millionths)
 * in thousandths of a unit: metres -> millimetres, a [0, 1] score -> per mille. Rounds toward zero. */
int32_t zone_dequant_milli(int8_t q, int32_t zero_point, int32_t scale_micro);

/* One sensor range (mm, 0 = invalid) as the model's int8 input: zero_point + round(mm x mult / 2^shift),
 * rounding half up, saturated to [-128, 127]. mult / 2^shift = 1 / (1000 x input scale), computed offline. */
int8_t zone_quantize_mm(uint16_t mm, int32_t mult, int32_t shift, int32_t zero_point);

/* A float model output in thousandths (x 1000 in single precision, truncated toward zero), saturated to the
 * int32 range; NaN gives INT32_MIN (which reads as "no person"). */
int32_t zone_float_milli(float x);

/* One frame: the person's presence score (per mille) and distance (mm) from the model, the count of valid
 * sensor zones. More severe zones are entered at once; a less severe zone only after exit_frames consecutive
 * frames beyond the edge + exit margin. Writes the decision to *zone. */
zone_status_t zone_update(zone_state_t *st, const zone_config_t *cfg, const zone_limits_t *lim,
                          int32_t presence_milli, int32_t distance_mm, int32_t valid_zones, zone_t *zone);

#endif

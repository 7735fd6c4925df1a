# voc_ap_reference.py - the PASCAL VOC devkit's voc_eval logic (AP of VOC 2010 on), re-typed
# in Python as an independent implementation; prints a random case (seed 7) and
# its APs, which tests/train/check_metrics.c holds. python3 tests/train/voc_ap_reference.py
import random
random.seed(7)
def iou(a, b):
    ax0, ax1, ay0, ay1 = a[0]-a[2]/2, a[0]+a[2]/2, a[1]-a[3]/2, a[1]+a[3]/2
    bx0, bx1, by0, by1 = b[0]-b[2]/2, b[0]+b[2]/2, b[1]-b[3]/2, b[1]+b[3]/2
    iw = min(ax1, bx1) - max(ax0, bx0); ih = min(ay1, by1) - max(ay0, by0)
    if iw <= 0 or ih <= 0: return 0.0
    inter = iw*ih; return inter / (a[2]*a[3] + b[2]*b[3] - inter)
def voc_ap(rec, prec):
    mrec = [0.0] + rec + [1.0]; mpre = [0.0] + prec + [0.0]
    for i in range(len(mpre)-2, -1, -1): mpre[i] = max(mpre[i], mpre[i+1])
    return sum((mrec[i+1]-mrec[i])*mpre[i+1] for i in range(len(mrec)-1) if mrec[i+1] != mrec[i])
def ap(dets, gts, c, th=0.5):
    g = [x for x in gts if x['cls'] == c]
    if not g: return float('nan')
    used = set(); tp = []; 
    ds = sorted([ (i, d) for i, d in enumerate(dets) if d['cls'] == c], key=lambda t: (-t[1]['score'], t[0]))
    for i, d in ds:
        best, bi = 0.0, None
        for j, t in enumerate(gts):
            if t['cls'] != c or t['img'] != d['img']: continue
            o = iou(d['box'], t['box'])
            if o > best: best, bi = o, j
        if bi is not None and best > th and bi not in used: used.add(bi); tp.append(1)
        else: tp.append(0)
    rec, prec, ctp = [], [], 0
    for k, t in enumerate(tp):
        ctp += t; rec.append(ctp/len(g)); prec.append(ctp/(k+1))
    return voc_ap(rec, prec)
gts, dets = [], []
for img in range(6):
    for k in range(random.randint(0, 4)):
        b = [round(random.uniform(0.1, 0.9), 3), round(random.uniform(0.1, 0.9), 3), round(random.uniform(0.05, 0.3), 3), round(random.uniform(0.05, 0.3), 3)]
        c = random.randint(0, 2); gts.append({'img': img, 'cls': c, 'box': b})
        if random.random() < 0.8:
            jb = [round(v + random.uniform(-0.03, 0.03), 3) for v in b]
            dets.append({'img': img, 'cls': c, 'box': jb, 'score': round(random.random(), 2)})
    for k in range(random.randint(0, 2)):
        b = [round(random.uniform(0.1, 0.9), 3), round(random.uniform(0.1, 0.9), 3), round(random.uniform(0.05, 0.3), 3), round(random.uniform(0.05, 0.3), 3)]
        dets.append({'img': img, 'cls': random.randint(0, 3), 'box': b, 'score': round(random.random(), 2)})
print("truth:"); 
for t in gts: print("    {%s, %s, %s, %s, 0, %d, %d}," % (*t['box'], t['cls'], t['img']))
print("dets:")
for d in dets: print("    {%s, %s, %s, %s, %s, %d, %d}," % (*d['box'], d['score'], d['cls'], d['img']))
aps = [ap(dets, gts, c) for c in range(4)]
print("aps", aps)
v = [a for a in aps if a == a]; print("map", sum(v)/len(v))

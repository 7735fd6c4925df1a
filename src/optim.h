/* optim.h - parameter updates over the whole parameter arena. */
#ifndef CNNCTL_OPTIM_H
#define CNNCTL_OPTIM_H

#include "net.h"

/* Plain SGD: w -= lr * g, one loop over every parameter. */
void optim_sgd_step(struct net *net, float lr);

#endif
